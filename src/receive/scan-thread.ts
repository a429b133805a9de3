// The body scanner's thread (see body-scanner.ts): one request at a time, answered in order.
import { parentPort } from 'node:worker_threads'
import { type ScanRequest, scanReply } from './body-scanner.js'

parentPort?.on('message', (request: ScanRequest) => parentPort?.postMessage(scanReply(request)))
