// Test-only preload (bad-input.test.ts): with --expose-gc, a full garbage collection on SIGUSR2,
// so the test reads RSS at comparable moments instead of wherever the GC sawtooth happens to be.
// With GC_REPORT_FILE set, it also appends process.memoryUsage() after the collection (heap vs RSS).
const { appendFileSync } = require('node:fs')
if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc()
    if (process.env.GC_REPORT_FILE) appendFileSync(process.env.GC_REPORT_FILE, `${JSON.stringify(process.memoryUsage())}\n`)
  })
}
