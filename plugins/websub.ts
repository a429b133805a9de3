/**
 * Ping a WebSub hub (formerly PubSubHubbub) when a feed changed, so podcast
 * apps and readers subscribed through the hub fetch it now instead of at
 * their next poll.
 *
 *   do: [{ action: 'websub', with: { feed: 'https://example.com/podcast.xml' }, debounce: '1m' }]
 */
import { definePlugin, PermanentError, RetryableError, z } from 'audiorista-runner'

const settings = z.object({
  hub: z
    .url()
    .default('https://pubsubhubbub.appspot.com/')
    .describe('The hub your feed names in <link rel="hub"> (default: Google’s public hub).'),
})

const input = z.object({
  feed: z.url().describe('URL of the feed that changed (the topic URL).'),
})

export default definePlugin({
  name: 'websub',
  description: 'Tell a WebSub hub that a feed changed.',
  settings,
  input,
  escape: 'none',

  async run(input, ctx) {
    const what = `websub: ${ctx.settings.hub}`
    let res: Response
    try {
      res = await fetch(ctx.settings.hub, {
        method: 'POST',
        body: new URLSearchParams({ 'hub.mode': 'publish', 'hub.url': input.feed }),
        signal: ctx.signal,
      })
    } catch (err) {
      throw new RetryableError(
        `${what} could not be reached: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
      )
    }
    // Hubs answer 204 No Content when they accept the ping.
    if (res.ok) return { status: res.status }
    const detail = (await res.text()).replace(/\s+/g, ' ').slice(0, 200)
    const message = `${what} answered ${res.status}${detail ? `: ${detail}` : ''}`
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      const seconds = Number(res.headers.get('retry-after'))
      throw new RetryableError(message, Number.isFinite(seconds) && seconds > 0 ? { retryAfter: seconds * 1000 } : {})
    }
    // 400: the hub does not know the feed, or the URL is wrong. Retrying will not help.
    throw new PermanentError(message)
  },

  preview: (input, ctx) => `would tell ${ctx.settings.hub} that ${input.feed} changed`,
})
