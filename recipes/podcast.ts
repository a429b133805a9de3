import type { Recipe } from 'audiorista-runner'

/**
 * The mission recipe: when a podcast episode is ready, tell the team in Slack,
 * rebuild the site (once for a burst of episodes), and email the creator once.
 */
export const podcastReady = {
  name: 'podcast-ready',
  on: 'title-ready',
  when: { tag: 'podcast' },
  do: [
    {
      name: 'announce',
      action: 'slack',
      with: { channel: '#releases', text: ':headphones: *{{name}}* is live {{share.url}}' },
    },
    {
      name: 'rebuild',
      action: 'http',
      // Netlify / Cloudflare Pages / Vercel build hook; unset = preview mode.
      with: { url: process.env.BUILD_HOOK_URL },
      // One build for a burst of episodes (the step's debounce key is the step itself),
      // at the latest 15 minutes after the first, however steady the stream of edits.
      debounce: { wait: '2m', maxWait: '15m' },
    },
    {
      name: 'email-creator',
      action: 'email',
      with: {
        to: '{{lookup vars.creators creator}}',
        subject: 'Your title "{{name}}" is live',
        template: 'creator-ready',
      },
      // Once per title, however often it is republished.
      once: true,
    },
  ],
} satisfies Recipe
