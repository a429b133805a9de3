import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Config, Recipe } from '../../src/types.js'
import { focused, haveChromium, launchChromium, overflowX, signIn, WAIT, watchProblems } from '../helpers/browser.js'
import { ADMIN_TOKEN, type ConsoleRunner, startConsoleRunner } from '../helpers/console.js'
import { createHttpSink, type HttpSink, type Replier } from '../helpers/http-sink.js'

/**
 * The console in Debian's Chromium, as its users meet it: signing in,
 * watching a failing delivery arrive live, reading its error, Retry and
 * Replay; payload text that tries to become HTML or script; narrow and wide
 * screens, the keyboard, and no JavaScript at all. The same tests save the
 * screenshots the README shows (docs/console-*.png).
 */

/** The page's globals as far as these tests read them (the project's tsconfig has no DOM types). */
interface PageElement {
  tagName: string
  getAttribute(name: string): string | null
  attributes: ArrayLike<{ name: string; value: string }>
}
declare const document: { querySelectorAll(selector: string): ArrayLike<PageElement>; documentElement: { scrollHeight: number } }
declare const window: Record<string, unknown>

// The README's screenshots are rewritten only when asked (WRITE_SCREENSHOTS=1): tests write no tracked file.
const DOCS =
  process.env.WRITE_SCREENSHOTS === '1'
    ? new URL('../../docs/', import.meta.url)
    : pathToFileURL(`${mkdtempSync(join(tmpdir(), 'audiorista-shots-'))}/`)
afterAll(() => {
  if (process.env.WRITE_SCREENSHOTS !== '1') rmSync(fileURLToPath(DOCS), { recursive: true, force: true })
})
const fixture = (event: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${event}.json`, import.meta.url), 'utf8'))

const TITLE = 'Episode 42: The Long Night'
const NARROW = { width: 390, height: 844 }
const WIDE = { width: 1280, height: 800 }

async function deliver(t: ConsoleRunner, event: string, body: Record<string, unknown>): Promise<string> {
  const res = await t.post(event, { ...fixture(event), ...body })
  expect(res.status).toBe(202)
  return res.json.id
}

/** The event page's run in this state: wait on it, a live update may be what brings it there. */
const runIn = (page: Page, state: string) => page.locator(`[data-testid="run"][data-state="${state}"]`)

describe.skipIf(!haveChromium())('the console in Chromium', () => {
  let browser: Browser
  /** Closed after each test, newest first: pages' streams before runners, runners before sinks. */
  const opened: Array<() => Promise<unknown>> = []

  beforeAll(async () => {
    browser = await launchChromium()
  }, 30_000)
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close()
  })
  afterAll(async () => {
    await browser?.close()
  })

  async function context(options: BrowserContextOptions = {}): Promise<BrowserContext> {
    const c = await browser.newContext({ viewport: WIDE, locale: 'en-GB', timezoneId: 'UTC', ...options })
    opened.push(() => c.close())
    return c
  }

  async function sink(reply: Replier): Promise<HttpSink> {
    const s = await createHttpSink({ reply })
    opened.push(() => s.close())
    return s
  }

  async function runner(recipes: Recipe[]): Promise<ConsoleRunner> {
    const config: Config = { auth: { allowUnauthenticated: true }, queue: { retry: { attempts: 1 } }, recipes }
    const t = await startConsoleRunner(config)
    opened.push(() => t.close())
    return t
  }

  /** One recipe whose http step posts the title to `sink` (dead at its first failure). */
  const notifyCms = (s: HttpSink): Recipe[] => [
    {
      name: 'notify-cms',
      on: 'title-ready',
      do: [{ action: 'http', name: 'cms', with: { url: `${s.url}/cms/hook`, body: { title: '{{name}}' } } }],
    },
  ]

  /**
   * A console after a morning's work: each kind of event a few times,
   * three recipes, one step dead because the player CMS was down.
   */
  async function morning(): Promise<{ t: ConsoleRunner; dead: string }> {
    const s = await sink((req) =>
      req.path === '/cms/assets' && req.json().title === TITLE
        ? { status: 503, body: { error: 'player CMS is in maintenance mode, try again later' } }
        : { status: 200, body: { ok: true } },
    )
    const t = await runner([
      {
        name: 'announce-new-titles',
        on: 'title-ready',
        do: [{ action: 'http', name: 'slack', with: { url: `${s.url}/slack/announce`, body: { text: 'New: {{name}} by {{creator}}' } } }],
      },
      {
        name: 'rebuild-site',
        on: ['title-ready', 'title-updated'],
        do: [{ action: 'http', name: 'build', with: { url: `${s.url}/build-hooks/site` } }],
      },
      {
        name: 'sync-player-cms',
        on: 'asset-transcoded',
        do: [
          {
            action: 'http',
            name: 'cms',
            with: { url: `${s.url}/cms/assets`, body: { title: '{{name}}', external_id: '{{external_id}}' } },
          },
        ],
      },
    ])
    await deliver(t, 'title-updated', { id: 4190, name: 'Episode 41: Static on the Line' })
    await deliver(t, 'title-ready', { id: 5120, name: 'The Lighthouse Keeper', creator: 'Mara Lind' })
    await deliver(t, 'asset-transcoded', { id: 6007, name: 'Chapter 7: Northern Winds', creator: 'Ines Okafor' })
    await deliver(t, 'title-ready', { id: 4211, name: TITLE })
    const dead = await deliver(t, 'asset-transcoded', { id: 4211, name: TITLE })
    await deliver(t, 'title-updated', { id: 5120, name: 'The Lighthouse Keeper (director’s cut)', creator: 'Mara Lind' })
    await deliver(t, 'title-ready', { id: 4212, name: 'Episode 43: Morning Light' })
    await deliver(t, 'asset-transcoded', { id: 4212, name: 'Episode 43: Morning Light' })
    await t.runner.engine.idle()
    return { t, dead }
  }

  it('shows a failing delivery live, then its error; Retry makes it done, Replay runs it again', async () => {
    const s = await sink({ status: 500, body: { error: 'database is down' } })
    const t = await runner(notifyCms(s))
    const page = await (await context()).newPage()
    const problems = watchProblems(page)

    await signIn(page, t.url, ADMIN_TOKEN, '/admin/events')
    expect(new URL(page.url()).pathname).toBe('/admin/events')
    await page.getByText('Live: this page follows new deliveries and runs.').waitFor({ timeout: WAIT })
    await page.getByText('No events yet').waitFor({ timeout: WAIT })
    // A reload or a navigation would lose this.
    await page.evaluate(() => {
      window.__sameDocument = true
    })

    await deliver(t, 'title-ready', { name: TITLE })
    const row = page.getByTestId('event-row').filter({ hasText: TITLE })
    await row.waitFor({ timeout: WAIT })
    await row.locator('[data-testid="status"][data-status="dead"]').waitFor({ timeout: WAIT })
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true)

    await row.getByRole('link', { name: TITLE }).click()
    await page.waitForURL(/\/admin\/events\/[^/?]+$/, { timeout: WAIT })
    const eventUrl = page.url()
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(TITLE)
    await runIn(page, 'dead').waitFor({ timeout: WAIT })
    const error = await runIn(page, 'dead').locator('.error-text').textContent()
    expect(error).toMatch(/answered 500: \{"error":"database is down"\}/)
    expect(await page.getByTestId('run').count()).toBe(1)

    s.reply({ status: 200, body: { ok: true } })
    await runIn(page, 'dead').getByTestId('retry').click()
    await page.waitForURL(`${eventUrl}?notice=retried`, { timeout: WAIT })
    expect(await page.getByTestId('notice').textContent()).toContain('Retry scheduled')
    await runIn(page, 'done').waitFor({ timeout: WAIT })
    expect(await page.getByTestId('run').count()).toBe(1)
    expect(await runIn(page, 'done').locator('.error-text').count()).toBe(0)
    expect(s.requests).toHaveLength(2)

    const asked: string[] = []
    page.on('dialog', (dialog) => {
      asked.push(dialog.message())
      void dialog.accept()
    })
    await page.getByTestId('replay').click()
    await page.waitForURL(/\/admin\/events\/[^/?]+\?notice=replayed$/, { timeout: WAIT })
    expect(asked).toEqual(['Replay this event? Its recipes run again on a copy of the payload.'])
    expect(page.url().split('?')[0]).not.toBe(eventUrl)
    expect(await page.getByTestId('notice').textContent()).toContain('Replayed')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(TITLE)
    await runIn(page, 'done').waitFor({ timeout: WAIT })
    expect(s.requests).toHaveLength(3)
    expect(problems).toEqual([])
  }, 60_000)

  it('shows payload text as text: no element, script or link comes from a title or a field', async () => {
    const titles = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">', '{{constructor}}']
    // The sink's answer (and so the error on the page) repeats what it was sent.
    const s = await sink((req) => ({ status: 500, body: `<script>window.__pwned=3</script>${req.body}` }))
    const t = await runner(notifyCms(s))
    const ids: string[] = []
    for (const [i, name] of titles.entries())
      ids.push(await deliver(t, 'title-ready', { id: 9000 + i, name, homepage: 'javascript:alert(1)' }))
    await t.runner.engine.idle()
    const page = await (await context()).newPage()
    const problems = watchProblems(page)
    await signIn(page, t.url, ADMIN_TOKEN)

    /** What the page holds that a payload must never put there. */
    const foreign = () =>
      page.evaluate(() => {
        const all = Array.from(document.querySelectorAll('*'))
        return {
          pwned: window.__pwned,
          images: document.querySelectorAll('img').length,
          scripts: Array.from(document.querySelectorAll('script')).map((s) => s.getAttribute('src')),
          handlers: all.flatMap((el) =>
            Array.from(el.attributes)
              .filter((a) => a.name.startsWith('on'))
              .map((a) => a.name),
          ),
          // Every link, form and resource stays in the console: none comes from the payload.
          urls: all.flatMap((el) =>
            Array.from(el.attributes)
              .filter((a) => ['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name))
              .map((a) => a.value)
              .filter((v) => !/^(\/admin(\/|\?|$)|#)/.test(v)),
          ),
        }
      })
    const clean = {
      pwned: undefined,
      images: 0,
      scripts: [expect.stringMatching(/^\/admin\/static\/[0-9a-f]+\/console\.js$/)],
      handlers: [],
      urls: [],
    }

    await page.getByTestId('count-dead').filter({ hasText: '3' }).waitFor({ timeout: WAIT })
    for (const title of titles) await page.getByRole('link', { name: title, exact: true }).waitFor({ timeout: WAIT })
    expect(await foreign()).toEqual(clean)

    await page.goto(`${t.url}/admin/events`)
    for (const [i, title] of titles.entries()) {
      const link = page.locator(`[data-testid="event-row"][data-id="${ids[i]}"] a`)
      expect(await link.textContent()).toBe(title)
    }
    expect(await foreign()).toEqual(clean)

    // A filter is shown back in its field, as typed.
    await page.goto(`${t.url}/admin/events?q=${encodeURIComponent(titles[1]!)}`)
    expect(await page.getByLabel('Title contains').inputValue()).toBe(titles[1])
    expect(await foreign()).toEqual(clean)

    for (const [i, title] of titles.entries()) {
      await page.goto(`${t.url}/admin/events/${ids[i]}`)
      await runIn(page, 'dead').waitFor({ timeout: WAIT })
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(title)
      expect(await page.title()).toBe(`${title} · Audiorista runner`)
      expect(await page.locator('.error-text').textContent()).toContain(
        `<script>window.__pwned=3</script>{"title":${JSON.stringify(title)}}`,
      )
      expect(await page.getByTestId('payload').textContent()).toContain('javascript:alert(1)')
      expect(await foreign()).toEqual(clean)
    }
    expect(problems).toEqual([])
  }, 60_000)

  it('fits 390 and 1280 px without sideways scrolling, and works from the keyboard', async () => {
    for (const viewport of [NARROW, WIDE]) {
      const { t, dead } = await morning()
      const page = await (await context({ viewport })).newPage()
      const problems = watchProblems(page)
      await signIn(page, t.url, ADMIN_TOKEN)
      for (const path of ['/admin/', '/admin/events', `/admin/events/${dead}`, '/admin/recipes', '/admin/simulate']) {
        await page.goto(`${t.url}${path}`)
        expect({ path, width: viewport.width, overflow: await overflowX(page) }).toEqual({ path, width: viewport.width, overflow: 0 })
      }

      // From the top of a page: the skip link first (and visible once focused), then the console's links.
      await page.goto(`${t.url}/admin/events`)
      const order: string[] = []
      for (let i = 0; i < 7; i++) {
        await page.keyboard.press('Tab')
        order.push(await focused(page))
      }
      expect(order).toEqual(['Skip to content', 'Audiorista runner', 'Overview', 'Events', 'Recipes', 'Simulate', 'Log out'])
      await page.goto(`${t.url}/admin/events`)
      await page.keyboard.press('Tab')
      const skip = await page.getByRole('link', { name: 'Skip to content' }).boundingBox()
      expect(skip?.y).toBeGreaterThanOrEqual(0)
      await page.keyboard.press('Enter')
      expect(await page.evaluate(() => document.querySelectorAll('main:focus').length)).toBe(1)

      // Then into the filters, and Enter submits them.
      const fields: string[] = []
      for (let i = 0; i < 4; i++) {
        await page.keyboard.press('Tab')
        fields.push(await focused(page))
      }
      expect(fields).toEqual(['Status', 'Event', 'Recipe', 'Title contains'])
      await page.keyboard.type('Lighthouse')
      await page.keyboard.press('Enter')
      await page.waitForURL((u) => u.pathname === '/admin/events' && u.searchParams.get('q') === 'Lighthouse', { timeout: WAIT })
      const rows = page.getByTestId('event-row')
      expect(await rows.count()).toBe(2)
      for (const text of await rows.locator('th a').allTextContents()) expect(text).toContain('The Lighthouse Keeper')
      expect(problems).toEqual([])
    }
  }, 60_000)

  it('never locks out a signed-in reader moving between live pages', async () => {
    const s = await sink({ status: 200 })
    const t = await runner(notifyCms(s))
    await deliver(t, 'title-ready', { name: TITLE })
    const page = await (await context()).newPage()
    await signIn(page, t.url, ADMIN_TOKEN, '/admin/events')
    // Each of these pages follows the event stream until the reader leaves it; leaving is no refused login.
    for (let visit = 1; visit <= 15; visit++) {
      await page.getByText('Live: this page follows new deliveries and runs.').waitFor({ timeout: WAIT })
      const res = await page.goto(`${t.url}${visit % 2 ? '/admin/' : '/admin/events'}`)
      const status = res?.status()
      expect({ visit, status, text: status === 200 ? '' : await page.locator('body').textContent() }).toEqual({
        visit,
        status: 200,
        text: '',
      })
    }
  }, 60_000)

  it('works without JavaScript: sign in, read the list, open an event, Retry', async () => {
    const s = await sink({ status: 500, body: { error: 'database is down' } })
    const t = await runner(notifyCms(s))
    await deliver(t, 'title-ready', { name: TITLE })
    await t.runner.engine.idle()
    const page = await (await context({ javaScriptEnabled: false })).newPage()
    const problems = watchProblems(page)

    await signIn(page, t.url, ADMIN_TOKEN, '/admin/events')
    const row = page.getByTestId('event-row').filter({ hasText: TITLE })
    expect(await row.locator('[data-testid="status"]').getAttribute('data-status')).toBe('dead')
    await row.getByRole('link', { name: TITLE }).click()
    await page.waitForURL(/\/admin\/events\/[^/?]+$/, { timeout: WAIT })
    const eventUrl = page.url()
    expect(await runIn(page, 'dead').locator('.error-text').textContent()).toContain('answered 500')

    s.reply({ status: 200 })
    await runIn(page, 'dead').getByTestId('retry').click()
    await page.waitForURL(`${eventUrl}?notice=retried`, { timeout: WAIT })
    expect(await page.getByTestId('notice').textContent()).toContain('Retry scheduled')
    // Without the script nothing follows the run: the reader reloads.
    await t.runner.engine.idle()
    await page.reload()
    expect(await page.getByTestId('run').getAttribute('data-state')).toBe('done')
    expect(problems).toEqual([])
  }, 60_000)

  it('saves the screenshots the README shows', async () => {
    const { t, dead } = await morning()
    const page = await (await context({ viewport: WIDE })).newPage()
    await signIn(page, t.url, ADMIN_TOKEN)
    // The day's figures are read at most every 2 s: reload until they include the morning's work.
    const deadBars = page.locator('.chart-svg rect.bar-dead')
    await expect
      .poll(
        async () => {
          if ((await deadBars.count()) === 0) await page.reload()
          return deadBars.count()
        },
        { timeout: WAIT, interval: 500 },
      )
      .toBeGreaterThan(0)
    await page.getByRole('heading', { name: 'Needs attention' }).waitFor({ timeout: WAIT })
    expect(await page.getByTestId('count-dead').locator('.card-n').textContent()).toBe('1')
    await page.getByText('Live: this page follows new deliveries and runs.').waitFor({ timeout: WAIT })
    await shoot(page, 'console-overview.png')

    await page.goto(`${t.url}/admin/events/${dead}`)
    await runIn(page, 'dead').locator('.error-text').waitFor({ timeout: WAIT })
    await shoot(page, 'console-event.png')

    const phone = await (await context({ viewport: NARROW })).newPage()
    await signIn(phone, t.url, ADMIN_TOKEN, '/admin/events')
    expect(await phone.getByTestId('event-row').count()).toBe(8)
    await shoot(phone, 'console-events-mobile.png')
  }, 60_000)
})

/** The whole page when it is not much taller than a screen or two, else what the window shows. */
async function shoot(page: Page, file: string): Promise<void> {
  const height = await page.evaluate(() => document.documentElement.scrollHeight)
  await page.screenshot({ path: new URL(file, DOCS).pathname, fullPage: height <= 1600, animations: 'disabled', caret: 'hide' })
}
