import type { TitlePayload } from '../payload.js'

/**
 * A `title-ready` body shaped like Audiorista's Title (the seed's example),
 * fresh on each call. `overrides` replace whole top-level fields:
 * `titleFixture({ tags: [{ name: 'News', slug: 'news' }] })`.
 */
export function titleFixture(overrides: Partial<TitlePayload> = {}): TitlePayload {
  return {
    id: 4211,
    external_id: 'isbn-9780000000001',
    uri: 'audiorista://titles/4211',
    name: 'Episode 42: The Long Night',
    description: 'A story about stars.',
    rich_description: '<p>A story about <b>stars</b>.</p>',
    share: { url: 'https://example.com/t/4211', background_image: 'https://cdn.example.com/bg/4211.jpg' },
    thumbnail: 'https://cdn.example.com/th/4211.jpg',
    tall_thumbnail: 'https://cdn.example.com/tt/4211.jpg',
    creator_thumbnail: 'https://cdn.example.com/ct/77.jpg',
    banner: 'https://cdn.example.com/bn/4211.jpg',
    background_image: null,
    video_snippet: null,
    creator: 'Jane Doe',
    is_paid: false,
    created: '2026-11-20T10:00:00Z',
    extra: [],
    assets: [
      {
        type: 1,
        order: 1,
        id: 9001,
        name: 'part-1.mp3',
        content_type: 'audio/mpeg',
        media_type: 'audio',
        storage_media_type: 'hls',
        duration_ms: 1834000,
        pages: 0,
        fixed_layout: false,
        filesize_bytes: 29345000,
        download_type: 'stream',
        chapters: [],
      },
    ],
    tags: [
      { name: 'Podcast', slug: 'podcast' },
      { name: 'Sci-Fi', slug: 'sci-fi' },
    ],
    rating: '4.5',
    ...overrides,
  }
}
