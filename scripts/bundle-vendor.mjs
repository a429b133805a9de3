/**
 * Part of `npm run build`, after tsc: replaces dist/zod.js (a re-export of
 * the zod package, see src/zod.ts) with zod bundled into that one file.
 * Measured on Node 20 (2 cores): importing the zod package takes 70-117 ms
 * (108-117 alone, 70-100 as part of the start path), the bundle 36-40 ms; it
 * is on every start's path (the built-in actions'
 * schemas). The types stay zod's own (dist/zod.d.ts).
 */
import { build } from 'esbuild'

await build({
  stdin: { contents: "export { z } from 'zod'", resolveDir: process.cwd(), sourcefile: 'zod-entry.js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: 'dist/zod.js',
  allowOverwrite: true,
  legalComments: 'inline',
  logLevel: 'warning',
})
