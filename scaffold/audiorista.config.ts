import { defineConfig } from 'audiorista-runner'

/**
 * Your recipes: when an Audiorista webhook arrives, run these steps.
 *   npx audiorista-runner check   lists them, or every problem with its path
 *   npx audiorista-runner start   receives webhooks (port 8787) and runs them
 *   npx vitest                    runs test/recipes.test.ts
 *
 * Actions whose credentials are not set run in preview mode: they log what
 * they would send and send nothing. Set the environment variables to make them real.
 */
export default defineConfig({
  // No AUDIORISTA_KEY: a key is generated on the first start and saved in .audiorista/key.
  auth: { keys: [process.env.AUDIORISTA_KEY] },
  // Constants for templates and conditions: {{lookup vars.creators creator}}.
  vars: { creators: { 'Jane Doe': 'jane@example.com' } },
  actions: {
    // Your action in plugins/example.ts; without DISCORD_WEBHOOK_URL it previews.
    discord: { webhookUrl: process.env.DISCORD_WEBHOOK_URL },
    // For the mission recipe below:
    // slack: { token: process.env.SLACK_BOT_TOKEN },
    // email: { transport: process.env.SMTP_URL, from: 'Releases <releases@example.com>' },
  },
  recipes: [
    {
      // A first recipe that needs nothing: every delivery leaves a line in the log.
      name: 'log-every-event',
      on: ['title-updated', 'title-ready', 'asset-transcoded'],
      do: [{ action: 'log', with: { message: '{{event.type}}: {{name}} ({{id}})' } }],
    },
    {
      name: 'announce-podcast',
      on: 'title-ready',
      when: { tag: 'podcast' },
      do: [{ action: 'discord', with: { content: '**{{name}}** is live: {{share.url}}' } }],
    },
    // The mission: when a podcast episode is ready, tell the team in Slack, rebuild the site
    // (once for a burst of episodes), and email the creator once. Uncomment it and the two
    // `actions` above, then set SLACK_BOT_TOKEN, BUILD_HOOK_URL (a Netlify, Cloudflare Pages or
    // Vercel build hook) and SMTP_URL (smtp://user:password@smtp.example.com:587).
    // {
    //   name: 'podcast-ready',
    //   on: 'title-ready',
    //   when: { tag: 'podcast' },
    //   do: [
    //     { name: 'announce', action: 'slack', with: { channel: '#releases', text: ':headphones: *{{name}}* is live {{share.url}}' } },
    //     { name: 'rebuild', action: 'http', with: { url: process.env.BUILD_HOOK_URL }, debounce: { wait: '2m', maxWait: '15m' } },
    //     {
    //       name: 'email-creator',
    //       action: 'email',
    //       // The body: recipes/templates/creator-ready.hbs (HTML) and creator-ready.text.hbs.
    //       with: { to: '{{lookup vars.creators creator}}', subject: 'Your title "{{name}}" is live', template: 'creator-ready' },
    //       once: true,
    //     },
    //   ],
    // },
  ],
})
