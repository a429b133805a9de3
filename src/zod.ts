/**
 * zod, as the built-in actions and `audiorista-runner` users take it. The
 * build replaces dist/zod.js with zod bundled into one file
 * (scripts/bundle-vendor.mjs): its package is some 100 modules that Node 20
 * takes 70-117 ms to load one by one, on every start (the bundle: 36-40 ms). Schemas are checked
 * through Standard Schema, so they work with any copy of zod.
 */
export { z } from 'zod'
