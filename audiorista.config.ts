import { defineConfig } from 'audiorista-runner'
import { podcastReady } from './recipes/podcast.js'

/**
 * The shipped example. It runs as is, with no account or token: actions
 * whose credentials are not set run in preview mode and only log what they
 * would send. Set the environment variables to make them real.
 */
// Behind a proxy (Caddy, nginx, a platform's load balancer): the proxies' addresses (`127.0.0.1`,
// `uniquelocal` for compose's Caddy) or their number, so logs name the sender (README "Put it on the internet").
const trustProxy = process.env.AUDIORISTA_TRUST_PROXY

export default defineConfig({
  server: {
    port: 8787,
    basePath: '/webhooks',
    bodyLimit: '1mb',
    trustProxy: trustProxy && /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy || false,
  },
  // No AUDIORISTA_KEY: a key is generated on first run and saved in the data folder
  // (.audiorista/ beside this file, or AUDIORISTA_DATA_DIR: /data in the container).
  auth: { keys: [process.env.AUDIORISTA_KEY] },
  // SQLite in the data folder (runner.db); AUDIORISTA_REDIS_URL picks Redis instead, so that
  // replicas can share it (README "Scaling out", compose.yaml's `scale` profile).
  store: process.env.AUDIORISTA_REDIS_URL ? { driver: 'redis', url: process.env.AUDIORISTA_REDIS_URL } : { driver: 'sqlite' },
  queue: { concurrency: 8, timeout: '30s', retry: { attempts: 5, delay: '2s', factor: 2, maxDelay: '15m' } },
  dedupe: { window: '24h' },
  vars: {
    creators: { 'Jane Doe': 'jane@example.com' },
  },
  actions: {
    slack: { token: process.env.SLACK_BOT_TOKEN, apiUrl: process.env.SLACK_API_URL },
    email: { transport: process.env.SMTP_URL, from: 'Releases <releases@example.com>' },
  },
  plugins: ['./plugins'],
  recipes: [
    podcastReady,
    {
      name: 'log-every-event',
      on: ['title-updated', 'title-ready', 'asset-transcoded'],
      do: [{ action: 'log', with: { message: '{{event.type}}: {{name}} ({{id}})' } }],
    },
  ],
})
