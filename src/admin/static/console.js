/*
 * The console works without this file. With it: parts of a page marked
 * `data-live="<fragment URL>"` are fetched again when the event stream says
 * something changed, times show in the reader's time zone, and forms marked
 * `data-confirm` ask first. No library, no build step.
 */
;(() => {
  const base = document.body.dataset.base || ''
  const note = document.querySelector('[data-live-state]')

  function localTimes(root) {
    for (const el of root.querySelectorAll('time[datetime]')) {
      const d = new Date(el.getAttribute('datetime'))
      if (Number.isNaN(d.getTime())) continue
      el.title = el.title || el.textContent
      el.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
    }
  }

  function say(text) {
    if (note && note.textContent !== text) note.textContent = text
  }

  document.addEventListener('submit', (e) => {
    const message = e.target instanceof HTMLFormElement ? e.target.dataset.confirm : undefined
    if (message && !window.confirm(message)) e.preventDefault()
  })
  localTimes(document)

  const regions = [...document.querySelectorAll('[data-live]')]
  if (regions.length === 0 || !('EventSource' in window)) return

  let timer = 0
  let busy = false
  let again = false
  const schedule = () => {
    // Many changes in a burst make one refresh, a second after the first: a busy runner is not
    // asked for a page more than once a second by each open tab.
    if (!timer) timer = window.setTimeout(refresh, 1000)
  }

  async function refresh() {
    timer = 0
    if (busy) {
      again = true
      return
    }
    busy = true
    try {
      for (const el of regions) {
        // Replacing what holds the keyboard focus would lose the reader's place: wait until it leaves.
        if (el.contains(document.activeElement)) el.dataset.stale = '1'
        else await update(el)
      }
    } catch {
      // Offline for a moment: the next change tries again.
    } finally {
      busy = false
      if (again) {
        again = false
        schedule()
      }
    }
  }

  async function update(el) {
    const res = await fetch(el.dataset.live, { credentials: 'same-origin', headers: { accept: 'text/html' } })
    // The session ended: the page itself goes to the login form.
    if (res.redirected) return window.location.reload()
    if (!res.ok) return
    el.innerHTML = await res.text()
    delete el.dataset.stale
    localTimes(el)
  }

  for (const el of regions) {
    el.addEventListener('focusout', () => {
      window.setTimeout(() => {
        if (el.dataset.stale && !el.contains(document.activeElement)) schedule()
      }, 0)
    })
  }

  const stream = new EventSource(`${base}/api/stream`)
  for (const name of ['delivery', 'run', 'matched', 'change']) stream.addEventListener(name, schedule)
  stream.addEventListener('open', () => {
    say('Live: this page follows new deliveries and runs.')
    // What changed between rendering this page (or losing the stream) and now was not announced.
    schedule()
  })
  stream.addEventListener('error', () => {
    say(stream.readyState === EventSource.CLOSED ? 'Live updates stopped: reload the page.' : 'Live updates paused: reconnecting…')
  })
})()
