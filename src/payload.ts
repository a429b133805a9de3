/**
 * What each event's body looks like (public types): `PayloadMap[E]` is what a
 * recipe on event `E` sees as `ctx.payload`. The Title shape is the one
 * Audiorista documents. Every field is optional because the runner never
 * rejects a body for a missing field, and any other field may come too.
 * src/match/shape.ts holds the same shape as data for `check`;
 * test/types.test.ts keeps the two in step.
 */

/** The body of `title-updated` and `title-ready`: an Audiorista Title. */
export interface TitlePayload {
  /** Any field the documentation does not list is kept as sent. */
  [field: string]: unknown
  /** Audiorista's id of the title. */
  id?: number
  /** The title's id in your own systems (e.g. an ISBN). */
  external_id?: string
  /** Audiorista's URI of the title (`audiorista://titles/4211`). */
  uri?: string
  /** The title's name. */
  name?: string
  /** Plain-text description. */
  description?: string
  /** HTML description. */
  rich_description?: string
  /** The public share link, or null when the title has none. */
  share?: TitleShare | null
  /** Thumbnail image URL. */
  thumbnail?: string
  /** Tall (portrait) thumbnail image URL. */
  tall_thumbnail?: string
  /** The creator's thumbnail image URL. */
  creator_thumbnail?: string
  /** Banner image URL. */
  banner?: string
  /** Background image URL, or null. */
  background_image?: string | null
  /** Video snippet URL, or null. */
  video_snippet?: string | null
  /** The creator's name (`Jane Doe`). */
  creator?: string
  /** Whether the title is paid content. */
  is_paid?: boolean
  /** When the title was created (ISO 8601). */
  created?: string
  /** Extra data; documented only as a list. */
  extra?: unknown[]
  /** The title's assets (audio, video, documents). */
  assets?: TitleAsset[]
  /** The title's tags, private tags included. */
  tags?: TitleTag[]
  /** The rating, as a string (`"4.5"`). */
  rating?: string
}

/** A Title's `share`. */
export interface TitleShare {
  /** Any field the documentation does not list is kept as sent. */
  [field: string]: unknown
  /** The public page of the title. */
  url?: string
  /** Background image URL for shared links. */
  background_image?: string
}

/** One of a Title's `assets`. */
export interface TitleAsset {
  /** Any field the documentation does not list is kept as sent. */
  [field: string]: unknown
  /** Asset type, a number. */
  type?: number
  /** Position among the title's assets. */
  order?: number
  /** Audiorista's id of the asset. */
  id?: number
  /** The asset's name (often its file name). */
  name?: string
  /** MIME type (`audio/mpeg`). */
  content_type?: string
  /** Kind of media (`audio`). */
  media_type?: string
  /** How the media is stored (`hls`). */
  storage_media_type?: string
  /** Length in milliseconds. */
  duration_ms?: number
  /** Number of pages (documents). */
  pages?: number
  /** Whether a document has a fixed layout. */
  fixed_layout?: boolean
  /** Size in bytes. */
  filesize_bytes?: number
  /** How the asset is downloaded (`stream`). */
  download_type?: string
  /** Chapters; documented only as a list. */
  chapters?: unknown[]
}

/** One of a Title's `tags`. */
export interface TitleTag {
  /** Any field the documentation does not list is kept as sent. */
  [field: string]: unknown
  /** Display name (`Podcast`). */
  name?: string
  /** URL-safe name (`podcast`). */
  slug?: string
}

/** The body of `asset-transcoded`: not documented by Audiorista, so any JSON object. */
export interface AssetTranscodedPayload {
  /** Every field is kept as sent. */
  [field: string]: unknown
}

/** The body each event carries. */
export interface PayloadMap {
  /** A Title was modified. */
  'title-updated': TitlePayload
  /** A Title is published and all its assets are transcoded. */
  'title-ready': TitlePayload
  /** An asset finished transcoding (undocumented body). */
  'asset-transcoded': AssetTranscodedPayload
}
