/**
 * The build-hook stand-in for the pipeline benchmark, in its own process so
 * that it does not share the runner's (or the load generator's) CPU time on
 * the same event loop. It is test/helpers/http-sink.ts with recording off;
 * it counts requests and distinct Idempotency-Keys and tells the parent over
 * IPC when asked.
 */
import { createJiti } from 'jiti'

const jiti = createJiti(import.meta.url)
const { createHttpSink } = await jiti.import(new URL('../../test/helpers/http-sink.ts', import.meta.url).pathname)

const keys = new Set()
let withoutKey = 0
const sink = await createHttpSink({
  record: false,
  // Like a real build hook: fetch keeps the connection (it drops any that announce 1 s or less).
  keepAliveTimeout: 5_000,
  reply: (req) => {
    const key = req.headers['idempotency-key']
    if (typeof key === 'string') keys.add(key)
    else withoutKey++
    return { status: 200 }
  },
})

process.on('message', (m) => {
  if (m?.type === 'stats') process.send({ id: m.id, count: sink.count, distinct: keys.size, withoutKey })
})
process.on('disconnect', () => void sink.close().then(() => process.exit(0)))
process.send({ url: sink.url })
