import type { Recipe } from 'audiorista-runner'

/**
 * The mission recipe: when a podcast episode is ready, tell the team in Slack,
 * rebuild the site, and email the creator.
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
    },
    {
      name: 'email-creator',
      action: 'email',
      with: {
        to: '{{lookup vars.creators creator}}',
        subject: 'Your title "{{name}}" is live',
        template: 'creator-ready',
      },
    },
  ],
} satisfies Recipe
