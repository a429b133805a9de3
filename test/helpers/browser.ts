/**
 * Debian's Chromium driven by playwright-core, for the console's browser
 * tests, and what those tests ask of a page: signing in through the form,
 * what the browser complained about, whether the page scrolls sideways.
 */
import { existsSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** The page's globals as far as these helpers read them (the project's tsconfig has no DOM types). */
interface PageElement {
  id: string
  tagName: string
  textContent: string | null
  getAttribute(name: string): string | null
}
declare const document: {
  activeElement: PageElement | null
  body: PageElement
  documentElement: { scrollWidth: number; clientWidth: number }
  querySelector(selector: string): PageElement | null
}

/**
 * True when Debian's chromium is installed: tests skip without it on a
 * developer's machine. Under CI (`.ci/run` installs it) it is always true,
 * so a missing browser fails the tests instead of skipping them unseen.
 */
export function haveChromium(): boolean {
  return Boolean(process.env.CI) || existsSync(CHROMIUM)
}

/** Headless, no sandbox (CI runs as root in a container), nothing that calls out to Google. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Containers often give /dev/shm 64 MB, too little for Chromium; Debian's launcher means to add
      // this flag then, but its check breaks when findmnt lists /dev/shm twice (as in this container).
      '--disable-dev-shm-usage',
    ],
  })
}

/** How long a user waits for something to show up before the test calls it missing. */
export const WAIT = 10_000

/**
 * Opens `path` on the console at `url`, which sends a visitor without a
 * session to the login form; types the token, submits, and waits to be
 * back on `path`.
 */
export async function signIn(page: Page, url: string, token: string, path = '/admin/'): Promise<void> {
  await page.goto(`${url}${path}`)
  await page.waitForURL((u) => u.pathname === '/admin/login', { timeout: WAIT })
  await page.getByLabel('Admin token').fill(token)
  await page.getByTestId('login-form').getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((u) => u.pathname !== '/admin/login', { timeout: WAIT })
}

/**
 * What the browser reported as wrong while the page was open: console
 * errors (failed loads, CSP violations) and uncaught exceptions. Chromium
 * asks for /favicon.ico on its own, outside the console: its 404 is no fault.
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return
    if (new URL(message.location().url || 'about:blank').pathname === '/favicon.ico') return
    problems.push(`${message.type()}: ${message.text()} (${message.location().url})`)
  })
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`))
  return problems
}

/** The page's width beyond the viewport, in CSS pixels (0: no horizontal scroll). */
export function overflowX(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
}

/** The focused element as a person would name it: its label, or its text. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return '(body)'
    const label = el.id ? document.querySelector(`label[for="${el.id}"]`) : null
    const name = el.getAttribute('aria-label') ?? label?.textContent ?? el.textContent ?? ''
    return name.trim() || `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}>`
  })
}
