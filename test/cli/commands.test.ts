import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatSimulation } from '../../src/cli/simulate.js'
import { runCli, runCliAsync, startChild, writeConfig } from '../helpers/child.js'
import { fixtureProject, missionProject } from '../helpers/fixture-project.js'
import { createHttpSink } from '../helpers/http-sink.js'
import { retryThenReplay, twoStepConfig } from '../helpers/retry-replay.js'
import { tempDir } from '../helpers/runner.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = (name: string) => join(root, 'test/fixtures', name)
const noCredentials = { SLACK_BOT_TOKEN: '', SMTP_URL: '', BUILD_HOOK_URL: '', AUDIORISTA_KEY: '', NODE_ENV: '' }

describe('audiorista-runner check', () => {
  it('exits 1 and lists every mistake with its config path', () => {
    const r = runCli(['check', '--config', fixture('configs/many-mistakes/audiorista.config.ts')], { cwd: root })
    expect(r.status).toBe(1)
    const expected = [
      'serverr: unknown option (did you mean server?)',
      'server.port: must be an integer from 0 to 65535',
      'queue.retry.delay: "2 seconds" is not a duration',
      'recipes[1].on: "title-published" is not an event',
      'recipes[2].do[0].action: required',
      'recipes[3].name: "podcast-ready" is already used by recipes[0]',
      'recipes[3].do: must have at least one step',
      // Found by the slack plugin's input schema, in the same run as the structural ones.
      'recipes[0].do[0].with.text: required',
    ]
    for (const line of expected) expect(r.stderr).toContain(line)
    expect(r.stderr).not.toContain('super-secret-key-value')
  })

  it('prints the recipes of the shipped config, with the steps that will preview', () => {
    const r = runCli(['check'], { cwd: root, env: noCredentials })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('podcast-ready')
    expect(r.stdout).toContain('when: tag = podcast')
    expect(r.stdout).toMatch(/1\. slack "announce"\s+\[preview: actions\.slack\.token/)
    expect(r.stdout).toContain('3 steps will run in preview mode')
  })

  it('--strict fails on actions that would only preview', () => {
    const r = runCli(['check', '--strict'], { cwd: root, env: noCredentials })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('"podcast-ready" step 1 (slack): would run in preview mode')
  })
})

describe('audiorista-runner simulate', () => {
  it('shows the matching recipe and each step rendered', () => {
    const r = runCli(['simulate', 'title-ready', fixture('title-ready.json')], { cwd: root, env: noCredentials })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('✓ podcast-ready: matches')
    expect(r.stdout).toContain(':headphones: *Episode 42: The Long Night* is live https://example.com/t/4211')
    expect(r.stdout).toContain('jane@example.com')
    expect(r.stdout).toContain('Your title \\"Episode 42: The Long Night\\" is live')
  })

  it('says which condition failed, and the actual value, when the tags are removed', () => {
    const payload = JSON.parse(readFileSync(fixture('title-ready.json'), 'utf8'))
    payload.tags = [{ name: 'Sci-Fi', slug: 'sci-fi' }]
    const r = runCli(['simulate', 'title-ready', '-'], { cwd: root, env: noCredentials, input: JSON.stringify(payload) })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/✗ podcast-ready: when\.tag did not hold: .*podcast.*Sci-Fi/)
  })

  it('--json prints the same dry run as data; --json with --run is refused', () => {
    const r = runCli(['simulate', 'title-ready', fixture('title-ready.json'), '--json'], { cwd: root, env: noCredentials })
    expect(r.status).toBe(0)
    const sim = JSON.parse(r.stdout)
    expect(sim).toMatchObject({ event: 'title-ready', matched: 2, total: 2 })
    const [podcast] = sim.recipes
    expect(podcast).toMatchObject({ name: 'podcast-ready', matched: true })
    expect(podcast.steps[0]).toMatchObject({ index: 1, action: 'slack', name: 'announce', previewMode: expect.stringContaining('token') })
    expect(podcast.steps[0].input.text).toBe(':headphones: *Episode 42: The Long Night* is live https://example.com/t/4211')
    // The text is rendered from this data alone.
    const text = runCli(['simulate', 'title-ready', fixture('title-ready.json')], { cwd: root, env: noCredentials })
    expect(`${formatSimulation(sim)}\n`).toBe(text.stdout)
    const both = runCli(['simulate', 'title-ready', fixture('title-ready.json'), '--json', '--run'], { cwd: root, env: noCredentials })
    expect(both.status).toBe(1)
    expect(both.stderr).toBe('error: --json prints the dry run; it cannot be used with --run\n')
  })

  it('refuses an unknown event and a body that is not a JSON object', () => {
    expect(runCli(['simulate', 'title-published', fixture('title-ready.json')], { cwd: root }).stderr).toContain(
      'unknown event "title-published"',
    )
    const r = runCli(['simulate', 'title-ready', '-'], { cwd: root, input: '[1,2]' })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('must be a JSON object')
  })
})

describe('audiorista-runner start and send, as a new user would', () => {
  it('generates a key on first run, prints it with the webhook URLs, and send uses it: 202, then 200 duplicate', async () => {
    const dir = fixtureProject('first-run')
    const child = await startChild(dir, { env: noCredentials })
    try {
      const out = child.output()
      expect(out).toContain(`${child.url}/webhooks/title-ready`)
      expect(out).toContain(`${child.url}/webhooks/asset-transcoded`)
      const key = readFileSync(join(dir, '.audiorista/key'), 'utf8').trim()
      expect(out).toContain(key)
      const port = new URL(child.url).port
      const url = `${child.url}/webhooks/title-ready`
      const first = runCli(['send', 'title-ready', fixture('title-ready.json'), '--url', url], { cwd: dir, env: { PORT: port } })
      expect(first.stdout).toMatch(/^202 /)
      const { id } = JSON.parse(first.stdout.split('\n')[1]!)
      const again = runCli(['send', 'title-ready', fixture('title-ready.json')], { cwd: dir, env: { PORT: port } })
      expect(again.stdout).toMatch(/^200 /)
      expect(JSON.parse(again.stdout.split('\n')[1]!)).toEqual({ accepted: true, duplicate: true, id })
      const wrong = runCli(['send', 'title-ready', fixture('title-ready.json'), '--key', 'nope'], { cwd: dir, env: { PORT: port } })
      expect(wrong.status).toBe(1)
      expect(wrong.stdout).toMatch(/^401 /)
      // The key is shown once at start, never in the log lines that follow.
      const logLines = child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
      expect(logLines.join('\n')).not.toContain(key)
    } finally {
      child.proc.kill('SIGTERM')
      expect(await child.exited).toBe(0)
    }
  })

  it('runs the podcast recipe in preview mode and logs each step with the event id and run ids', async () => {
    const dir = missionProject()
    const child = await startChild(dir, { env: noCredentials })
    try {
      const port = new URL(child.url).port
      const sent = runCli(['send', 'title-ready', fixture('title-ready.json')], { cwd: dir, env: { PORT: port } })
      const { id } = JSON.parse(sent.stdout.split('\n')[1]!)
      const deadline = Date.now() + 10_000
      const previews = () =>
        child
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l))
          .filter((l) => l.eventId === id && String(l.msg).startsWith('preview:'))
      while (previews().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const lines = previews()
      expect(lines.map((l) => l.step)).toEqual([1, 2, 3])
      for (const l of lines) expect(l.runId).toMatch(/^run_/)
      expect(new Set(lines.map((l) => l.runId)).size).toBe(3)
    } finally {
      child.proc.kill('SIGTERM')
      await child.exited
    }
  })
})

describe('audiorista-runner events', () => {
  it('lists stored events with their status', async () => {
    const dir = tempDir()
    writeConfig(dir, {
      auth: { allowUnauthenticated: true },
      store: { path: join(dir, 'r.db') },
      recipes: [{ name: 'log', on: 'title-ready', do: [{ action: 'log' }] }],
    })
    const child = await startChild(dir)
    await fetch(`${child.url}/webhooks/title-ready`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: readFileSync(fixture('title-ready.json')),
    })
    await new Promise((r) => setTimeout(r, 300))
    child.proc.kill('SIGTERM')
    await child.exited
    const r = runCli(['events'], { cwd: dir })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/evt_\S+\s+title-ready\s+\S+\s+done\s+1\s+Episode 42: The Long Night/)
    expect(runCli(['events', '--status', 'dead'], { cwd: dir }).stdout).toContain('no events with status dead')
    expect(runCli(['events', '--status', 'bogus'], { cwd: dir }).stderr).toContain('unknown status "bogus"')

    // One event, as the console's detail page shows it.
    const id = /(evt_\S+)/.exec(r.stdout)![1]!
    const shown = runCli(['events', 'show', id], { cwd: dir })
    expect(shown.status).toBe(0)
    expect(shown.stdout).toContain(`${id}  title-ready  done`)
    expect(shown.stdout).toContain('title:    Episode 42: The Long Night')
    expect(shown.stdout).toMatch(/run_\S+ {2}log step 1 \(log\): done, attempt 1/)
    expect(shown.stdout).toContain(`→ audiorista-runner replay ${id}`)
    const json = JSON.parse(runCli(['events', 'show', id, '--json'], { cwd: dir }).stdout)
    expect(json.event).toMatchObject({
      id,
      type: 'title-ready',
      status: 'done',
      payload: JSON.parse(readFileSync(fixture('title-ready.json'), 'utf8')),
    })
    expect(json.runs).toMatchObject([{ recipe: 'log', step: 1, action: 'log', state: 'done', attempt: 1 }])
    const missing = runCli(['events', 'show', 'evt_nope'], { cwd: dir })
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('no event evt_nope in the store')
  })
})

describe('audiorista-runner retry and replay', () => {
  it('retry runs a dead step and the skipped steps after it; replay runs an event again as a new event', async () => {
    const sink = await createHttpSink()
    sink.replyOnce({ status: 404 })
    const dir = tempDir()
    writeConfig(dir, twoStepConfig(sink.url, { path: join(dir, 'r.db') }))
    try {
      const child = await startChild(dir)
      const res = await fetch(`${child.url}/webhooks/title-ready`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"id":1}',
      })
      const { id } = (await res.json()) as { id: string }
      await sink.waitFor(1)
      await new Promise((r) => setTimeout(r, 300))
      child.proc.kill('SIGTERM')
      expect(await child.exited).toBe(0)

      const listed = await runCliAsync(['events', '--status', 'dead'], { cwd: dir })
      const runId = /(run_\S+) two step 1 \(http\)/.exec(listed.stdout)?.[1]
      expect(runId, listed.stdout).toBeDefined()
      expect(listed.stdout).toContain(`audiorista-runner retry ${runId}`)

      await retryThenReplay(dir, runId!, id, sink)

      const missing = await runCliAsync(['events'], { cwd: tempDir() })
      expect(missing.status).toBe(1)
      expect(missing.stderr).toContain('no store at')
    } finally {
      await sink.close()
    }
  })
})
