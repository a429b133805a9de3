import { defineConfig } from 'vitest/config'

// Tests whose criteria are bounds on the machine (/healthz latency, peak RSS, answer times) run after the
// rest, one file at a time: beside another test file on two cores they measure the neighbour. The image
// test too: its build takes both cores for minutes.
const ALONE = [
  'test/reliability/worst-case-*.test.ts',
  'test/reliability/memory.test.ts',
  'test/reliability/slow-clients.test.ts',
  'test/deploy/image.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests start real servers and child processes; two cores, so keep it modest.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
})
