/**
 * Downstream faults: targets that hang, fail, rate-limit or refuse, across
 * actions at once. A failing target must never hold the steps to healthy
 * ones; a hanging call is cut at its timeout and frees its slot.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { StepRun } from '../../src/store/backend.js'
import { closedPort, createHttpSink, type HttpSink } from '../helpers/http-sink.js'
import { startTestRunner, type TestRunner } from '../helpers/runner.js'
import { createSlackServer, type SlackServer } from '../helpers/slack-server.js'
import { createSmtpSink, type SmtpSink } from '../helpers/smtp.js'
import { waitUntil } from './helpers.js'
import { createReport } from './report.js'

const report = createReport()
afterAll(() => report.write())

let t: TestRunner | undefined
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await t?.close()
  t = undefined
  for (const close of closers.splice(0)) await close()
})

async function allRuns(runner: TestRunner): Promise<StepRun[]> {
  const events = await runner.runner.store.listEvents({ limit: 1000 })
  return (await Promise.all(events.map((e) => runner.runner.store.runsForEvent(e.id)))).flat()
}

describe('downstream faults never block healthy targets', () => {
  it('with concurrency 4 and 4 hanging steps queued first, a healthy step completes within about one step timeout', async () => {
    const row = report.row(
      'downstream-hang',
      'Downstream: 4 hanging http steps fill concurrency 4, then 1 healthy step (timeout 1s, retry delay 2s × 2)',
    )
    const hang: HttpSink = await createHttpSink({ reply: { hang: true } })
    const ok: HttpSink = await createHttpSink()
    closers.push(
      () => hang.close(),
      () => ok.close(),
    )
    const timeout = 1000
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      queue: { concurrency: 4, timeout, retry: { attempts: 3, delay: '2s', factor: 2 } },
      recipes: [
        { name: 'to-hang', on: 'title-ready', when: { target: 'hang' }, do: [{ action: 'http', with: { url: `${hang.url}/build` } }] },
        { name: 'to-ok', on: 'title-ready', when: { target: 'ok' }, do: [{ action: 'http', with: { url: `${ok.url}/build` } }] },
      ],
    })
    for (let i = 0; i < 4; i++) expect((await t.post('title-ready', { id: i, target: 'hang' })).status).toBe(202)
    await hang.waitFor(4, 5000) // every slot is now held by a hanging call
    const hungAt = Date.now()
    expect((await t.post('title-ready', { id: 99, target: 'ok' })).status).toBe(202)
    await ok.waitFor(1, 10_000)
    const healthyAfter = Date.now() - hungAt
    // All retries of the hanging ones would end after 1 + 2 + 1 + 4 + 1 = 9 s.
    const allRetries = timeout * 3 + 2000 + 4000

    // The hanging attempts were cut at the timeout and will be retried.
    const ok1 = await waitUntil(
      async () => (await allRuns(t!)).filter((r) => r.recipe === 'to-hang' && r.state === 'retrying').length === 4,
      3000,
    )
    const hangRuns = (await allRuns(t)).filter((r) => r.recipe === 'to-hang')
    row.tried = '4 hanging + 1 healthy step'
    row.lost = 0
    row.duplicated = 0
    row.notes = `healthy step reached its target ${healthyAfter} ms after the 4 slots were taken (step timeout ${timeout} ms; all retries of the hanging ones: ${allRetries} ms); hanging attempts cut with "${hangRuns[0]?.error ?? '?'}"`
    expect(ok1).toBe(true)
    expect(hangRuns.every((r) => /timed out after 1000 ms/.test(r.error ?? ''))).toBe(true)
    // Wide margin (2 cores, other tests in parallel): one timeout plus scheduling, far from all retries.
    expect(healthyAfter).toBeLessThan(timeout + 1500)
    const healthy = (await allRuns(t)).find((r) => r.recipe === 'to-ok')
    expect(await waitUntil(async () => (await t!.runner.store.getRun(healthy!.id))?.state === 'done', 2000)).toBe(true)
    row.result = 'pass'
  })

  it('hanging, 500, 429 and refused targets across http, slack and email: healthy steps finish first, faulty ones end as the contract says', async () => {
    const row = report.row(
      'downstream-mixed',
      'Downstream: 6 events × (http hang, http 500, http refused, slack 429, email hang, healthy http + log), concurrency 4, timeout 500ms',
    )
    const hang = await createHttpSink({ reply: { hang: true } })
    const failing = await createHttpSink({ reply: { status: 500, body: 'boom' } })
    const ok = await createHttpSink()
    const slack: SlackServer = await createSlackServer()
    const smtp: SmtpSink = await createSmtpSink()
    const refused = await closedPort()
    closers.push(
      () => hang.close(),
      () => failing.close(),
      () => ok.close(),
      () => slack.close(),
      () => smtp.close(),
    )
    const events = 6
    for (let i = 0; i < events; i++) slack.replyOnce({ status: 429, headers: { 'retry-after': '1' } })
    for (let i = 0; i < 4 * events; i++) smtp.once({ stage: 'data', hang: true })
    t = await startTestRunner({
      auth: { allowUnauthenticated: true },
      queue: { concurrency: 4, timeout: 500, retry: { attempts: 2, delay: 100, factor: 1 } },
      actions: { slack: { token: 'xoxb-test', apiUrl: slack.apiUrl }, email: { transport: smtp.url, from: 'Runner <runner@example.com>' } },
      recipes: [
        { name: 'http-hang', on: 'title-ready', do: [{ action: 'http', with: { url: `${hang.url}/hook` } }] },
        { name: 'http-500', on: 'title-ready', do: [{ action: 'http', with: { url: `${failing.url}/hook` } }] },
        { name: 'http-refused', on: 'title-ready', do: [{ action: 'http', with: { url: `http://127.0.0.1:${refused}/hook` } }] },
        { name: 'slack-429', on: 'title-ready', do: [{ action: 'slack', with: { channel: '#c{{id}}', text: '{{name}}' } }] },
        {
          name: 'email-hang',
          on: 'title-ready',
          do: [{ action: 'email', with: { to: 'jane@example.com', subject: '{{name}}', text: 'live' } }],
        },
        {
          name: 'healthy',
          on: 'title-ready',
          do: [
            { action: 'http', with: { url: `${ok.url}/hook?id={{id}}` } },
            { action: 'log', with: { message: 'healthy {{id}}' } },
          ],
        },
      ],
    })
    const started = Date.now()
    for (let i = 0; i < events; i++) expect((await t.post('title-ready', { id: i, name: `Episode ${i}` })).status).toBe(202)

    let healthyDoneAt = 0
    const settled = await waitUntil(async () => {
      const runs = await allRuns(t!)
      if (!healthyDoneAt && runs.filter((r) => r.recipe === 'healthy' && r.state === 'done').length === 2 * events)
        healthyDoneAt = Date.now() - started
      return runs.length === 7 * events && runs.every((r) => ['done', 'dead'].includes(r.state))
    }, 20_000)
    const allDoneAt = Date.now() - started
    const runs = await allRuns(t)
    const by = (recipe: string) => runs.filter((r) => r.recipe === recipe)
    const states = Object.fromEntries(
      ['http-hang', 'http-500', 'http-refused', 'slack-429', 'email-hang', 'healthy'].map((n) => [n, by(n).map((r) => r.state)]),
    )
    row.tried = `${events} events, ${7 * events} step runs`
    row.lost = runs.filter((r) => r.recipe === 'healthy' && r.state !== 'done').length
    row.duplicated = ok.count - events
    row.notes = `healthy steps all done at ${healthyDoneAt} ms, everything settled at ${allDoneAt} ms; slack waited Retry-After then delivered ${slack.messages.length}/${events}; hang/500/refused/email-hang ended dead after 2 attempts`
    expect(settled, JSON.stringify(states)).toBe(true)
    expect(by('healthy').every((r) => r.state === 'done')).toBe(true)
    expect(ok.count).toBe(events)
    expect(healthyDoneAt).toBeGreaterThan(0)
    expect(healthyDoneAt).toBeLessThan(allDoneAt)
    for (const r of by('http-hang'))
      expect(r).toMatchObject({ state: 'dead', attempt: 2, error: expect.stringMatching(/timed out|aborted/) })
    for (const r of by('http-500')) expect(r).toMatchObject({ state: 'dead', attempt: 2, error: expect.stringContaining('500') })
    for (const r of by('http-refused'))
      expect(r).toMatchObject({ state: 'dead', attempt: 2, error: expect.stringMatching(/ECONNREFUSED|refused/i) })
    for (const r of by('email-hang'))
      expect(r).toMatchObject({ state: 'dead', attempt: 2, error: expect.stringMatching(/timed out|aborted/) })
    // 429 then Retry-After: 1 honoured, then delivered.
    for (const r of by('slack-429')) expect(r).toMatchObject({ state: 'done', attempt: 2 })
    expect(slack.messages).toHaveLength(events)
    const perChannel = new Map<string, number[]>()
    slack.requests.forEach((req, i) => {
      const ch =
        new URLSearchParams(req.body).get('channel') ??
        (req.body.startsWith('{') ? (JSON.parse(req.body) as { channel: string }).channel : '?')
      perChannel.set(ch, [...(perChannel.get(ch) ?? []), i])
    })
    expect([...perChannel.values()].every((list) => list.length === 2)).toBe(true)
    row.result = 'pass'
  }, 40_000)
})
