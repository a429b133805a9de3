/**
 * An example action plugin: post a message to a Discord channel through a
 * channel webhook. Copy this file next to it, rename it, and change what it
 * sends: every file in `plugins/` is loaded at start-up.
 *
 * In audiorista.config.ts:
 *
 *   actions: { discord: { webhookUrl: process.env.DISCORD_WEBHOOK_URL } },
 *   recipes: [{ name: 'announce', on: 'title-ready',
 *               do: [{ action: 'discord', with: { content: '**{{name}}** is live: {{share.url}}' } }] }],
 *
 * Check it with `npx audiorista-runner simulate title-ready payload.json`, and
 * test it with `describePluginConformance` from 'audiorista-runner/testing'.
 */
import { definePlugin, PermanentError, RetryableError, z } from 'audiorista-runner'

// `actions.discord` in the config. Validated at start-up, so a typo fails early.
const settings = z.object({
  webhookUrl: z.url().optional().describe('Channel settings → Integrations → Webhooks → Copy Webhook URL.'),
  username: z.string().optional().describe('Name shown as the author (default: the webhook’s name).'),
})

// A step's `with`, after its templates are rendered.
const input = z.object({
  content: z.string().min(1).max(2000).describe('Message text (Discord markdown, at most 2000 characters).'),
  username: z.string().optional().describe('Author name for this message only.'),
})

export default definePlugin({
  name: 'discord',
  description: 'Post a message to a Discord channel webhook.',
  settings,
  input,
  // Discord reads markdown, not HTML: rendered values go in as they are.
  escape: 'none',
  // Discord allows a webhook about 5 messages every 2 seconds.
  rateLimit: { limit: 5, interval: '2s' },

  // Without a URL the action runs in preview mode: it logs what it would send.
  missingCredentials: (s) => (s.webhookUrl ? undefined : 'actions.discord.webhookUrl is not set; set DISCORD_WEBHOOK_URL'),

  async run(input, ctx) {
    // ?wait=true makes Discord answer with the message, so the step has an id to record.
    const res = await fetch(`${ctx.settings.webhookUrl}?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // allowed_mentions: a title called "@everyone" must not ping the whole server.
      body: JSON.stringify({ content: input.content, username: input.username ?? ctx.settings.username, allowed_mentions: { parse: [] } }),
      // Aborted when the step times out. Network errors and aborts are thrown
      // as they are: anything that is not a PermanentError is retried.
      signal: ctx.signal,
    })
    if (res.ok) {
      const message = (await res.json()) as { id?: string }
      // The result is stored and visible to later steps as {{steps.NAME.id}}: keep it small.
      return { id: message.id ?? null }
    }
    // Never put the webhook URL in a message: it is the credential.
    const detail = (await res.text()).slice(0, 200)
    if (res.status === 429 || res.status >= 500) {
      const seconds = Number(res.headers.get('retry-after'))
      throw new RetryableError(
        `discord answered ${res.status}`,
        Number.isFinite(seconds) && seconds > 0 ? { retryAfter: seconds * 1000 } : {},
      )
    }
    // A bad request or a deleted webhook will not fix itself: stop retrying.
    throw new PermanentError(`discord answered ${res.status}: ${detail}`)
  },

  // What `simulate` and preview mode show instead of posting.
  preview: (input) => `would post to Discord: ${input.content}`,
})
