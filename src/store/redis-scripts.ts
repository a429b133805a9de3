/**
 * The Lua of the Redis backend: every write that must be atomic is one
 * script, so concurrent replicas see it whole or not at all. Each script
 * gets the key prefix as ARGV[1] and builds its keys from it (the layout is
 * described in redis.ts). Numbers travel as strings both ways so no float
 * formatting touches a timestamp; structured arguments are JSON whose
 * values are strings for the same reason.
 */

const COMMON = `
local P = ARGV[1]
local call = redis.call
local function runKey(id) return P .. ':run:' .. id end
local function eventKey(id) return P .. ':event:' .. id end
local function int(n) return string.format('%d', n) end

-- Arguments are checked before anything is written: Redis does not roll a script back, so a command
-- that fails after a write would leave half of it (and the caller, told it failed, writes it again).
local function bad(what) error({ err = 'ERR bad argument: ' .. what }) end
local function num(s, what)
  if type(s) ~= 'string' or not string.match(s, '^%-?%d+%.?%d*$') then bad(what) end
  return s
end
local function str(s, what)
  if type(s) ~= 'string' then bad(what) end
  return s
end

-- A run coalesced away or skipped never ran: its once keys are not used up.
local function dropOnceOf(runId)
  local set = runKey(runId) .. ':once'
  for _, k in ipairs(call('SMEMBERS', set)) do
    local key = P .. ':once:' .. k
    if call('GET', key) == runId then call('DEL', key) end
  end
  call('DEL', set)
end

local function skipIfPending(runId, why, now)
  local key = runKey(runId)
  if call('HGET', key, 'state') ~= 'pending' then return nil end
  call('HSET', key, 'state', 'skipped', 'error', why, 'updatedAt', now)
  return call('HGETALL', key)
end

-- A patch as encodePatch writes it (strings, and clearError); false, with nothing written, when the run is
-- gone or its expect no longer holds.
local function checkPatch(patch)
  if type(patch) ~= 'table' then bad('patch') end
  str(patch.state, 'patch.state')
  for _, f in ipairs({ 'input', 'result', 'error', 'skipLater', 'expectState' }) do
    if patch[f] ~= nil then str(patch[f], 'patch.' .. f) end
  end
  for _, f in ipairs({ 'runAt', 'attempt' }) do
    if patch[f] ~= nil then num(patch[f], 'patch.' .. f) end
  end
  if patch.expectState ~= nil then num(patch.expectAttempt, 'patch.expectAttempt') end
  return patch
end

local function patchRun(id, now, patch)
  local key = runKey(id)
  if call('EXISTS', key) == 0 then return false end
  if patch.expectState ~= nil then
    local cur = call('HMGET', key, 'state', 'attempt')
    if cur[1] ~= patch.expectState or tonumber(cur[2]) ~= tonumber(patch.expectAttempt) then return false end
  end
  local fields = { 'state', patch.state, 'updatedAt', now }
  for _, f in ipairs({ 'runAt', 'input', 'result', 'error', 'attempt' }) do
    if patch[f] ~= nil then
      fields[#fields + 1] = f
      fields[#fields + 1] = patch[f]
    end
  end
  call('HSET', key, unpack(fields))
  if patch.clearError then call('HDEL', key, 'error') end
  -- The claim belongs to an attempt in progress: a run that is no longer running has none.
  if patch.state ~= 'running' then call('HDEL', key, 'claim') end
  if patch.skipLater ~= nil then
    local run = call('HMGET', key, 'eventId', 'recipe', 'stepIndex')
    local index = tonumber(run[3])
    if run[1] and index then
      for _, rid in ipairs(call('SMEMBERS', eventKey(run[1]) .. ':runs')) do
        local other = call('HMGET', runKey(rid), 'recipe', 'stepIndex', 'state')
        if other[1] == run[2] and (tonumber(other[2]) or -1) > index and other[3] == 'pending' then
          call('HSET', runKey(rid), 'state', 'skipped', 'error', patch.skipLater, 'updatedAt', now)
        end
      end
    end
  end
  return true
end

-- Runs due at a time: the record says when, and the intent set says a job must exist
-- for it (the sweep re-adds one if a process died before adding it). Answers, per
-- entry, whether the run exists and whether its job did already.
local function checkEntries(entries)
  if type(entries) ~= 'table' then bad('entries') end
  for _, e in ipairs(entries) do
    if type(e) ~= 'table' then bad('entry') end
    str(e.runId, 'entry.runId')
    num(e.at, 'entry.at')
  end
  return entries
end

local function scheduleRuns(entries, now)
  local out = {}
  for _, e in ipairs(entries) do
    local key = runKey(e.runId)
    if call('EXISTS', key) == 1 then
      call('HSET', key, 'runAt', e.at, 'updatedAt', now)
      call('ZADD', P .. ':scheduled', e.at, e.runId)
      out[#out + 1] = { e.runId, e.at, call('EXISTS', P .. ':schedule:' .. e.runId) }
    end
  end
  return out
end
`

const script = (body: string) => `${COMMON}\n${body}`

export const SCRIPTS = {
  /** ARGV: P, id, type, body, hash, hasTitle, title, receivedAt, dedupeWindow (integer ms, 0: none), now → { id, duplicate } */
  arAccept: script(`
local id, type, receivedAt, window, now = ARGV[2], ARGV[3], num(ARGV[8], 'receivedAt'), ARGV[9], num(ARGV[10], 'now')
if not string.match(window, '^%d+$') or #window > 15 then bad('dedupeWindow') end
local dedupe = P .. ':dedupe:' .. type .. ':' .. ARGV[5]
local existing = call('GET', dedupe)
if existing and call('EXISTS', eventKey(existing)) == 1 then return { existing, 1 } end
-- The one command here that can refuse its arguments (the expiry) goes first: a refusal writes nothing.
if window ~= '0' then call('SET', dedupe, id, 'PX', window) end
call('HSET', eventKey(id), 'id', id, 'type', type, 'body', ARGV[4], 'hash', ARGV[5], 'receivedAt', receivedAt)
if ARGV[6] == '1' then call('HSET', eventKey(id), 'title', ARGV[7]) end
call('ZADD', P .. ':events', receivedAt, id)
call('ZADD', P .. ':events:' .. type, receivedAt, id)
call('ZADD', P .. ':unmatched', now, id)
return { id, 0 }
`),

  /** ARGV: P, sourceId, copyId, now → 1, or 0 when the source is gone */
  arReplay: script(`
local src, id, now = eventKey(ARGV[2]), ARGV[3], num(ARGV[4], 'now')
local e = call('HMGET', src, 'type', 'body', 'hash', 'title')
if not (e[1] and e[2] and e[3]) then return 0 end
call('HSET', eventKey(id), 'id', id, 'type', e[1], 'body', e[2], 'hash', e[3], 'receivedAt', now)
if e[4] then call('HSET', eventKey(id), 'title', e[4]) end
call('ZADD', P .. ':events', now, id)
call('ZADD', P .. ':events:' .. e[1], now, id)
call('ZADD', P .. ':unmatched', now, id)
return 1
`),

  /** ARGV: P, eventId, now, runs (JSON) → 1 when recorded, 0 when matched already or gone */
  arDispatch: script(`
local eventId, now = ARGV[2], num(ARGV[3], 'now')
local key = eventKey(eventId)
local runs = cjson.decode(ARGV[4])
if type(runs) ~= 'table' then bad('runs') end
for _, r in ipairs(runs) do
  if type(r) ~= 'table' then bad('run') end
  for _, f in ipairs({ 'id', 'recipe', 'action' }) do str(r[f], 'run.' .. f) end
  num(r.stepIndex, 'run.stepIndex')
  num(r.runAt, 'run.runAt')
  if r.stepName ~= nil then str(r.stepName, 'run.stepName') end
end
-- Matched or gone: no match work is left for it either way.
call('ZREM', P .. ':unmatched', eventId)
if call('EXISTS', key) == 0 or call('HEXISTS', key, 'dispatchedAt') == 1 then return 0 end
for _, r in ipairs(runs) do
  local fields = { 'id', r.id, 'eventId', eventId, 'recipe', r.recipe, 'stepIndex', r.stepIndex, 'action', r.action,
    'state', 'pending', 'attempt', '0', 'runAt', r.runAt, 'createdAt', now, 'updatedAt', now }
  if r.stepName ~= nil then
    fields[#fields + 1] = 'stepName'
    fields[#fields + 1] = r.stepName
  end
  call('HSET', runKey(r.id), unpack(fields))
  call('SADD', key .. ':runs', r.id)
  if r.queue then call('ZADD', P .. ':scheduled', r.runAt, r.id) end
end
call('HSET', key, 'dispatchedAt', now)
return 1
`),

  /**
   * ARGV: P, runId, now, lease token → the run (flat hash), or nil when neither pending nor retrying nor
   * claimed under this token. The token is kept in the run's \`claim\` field while it is running.
   */
  arClaim: script(`
local key, now, token = runKey(ARGV[2]), num(ARGV[3], 'now'), str(ARGV[4], 'token')
local run = call('HMGET', key, 'state', 'attempt', 'claim')
-- Claimed under this lease already (its answer was lost): as it is, nothing counted.
if run[1] == 'running' and token ~= '' and run[3] == token then return call('HGETALL', key) end
if run[1] ~= 'pending' and run[1] ~= 'retrying' then return nil end
call('HSET', key, 'state', 'running', 'attempt', int((tonumber(run[2]) or 0) + 1), 'claim', token, 'updatedAt', now)
return call('HGETALL', key)
`),

  /** ARGV: P, runId, now, patch (JSON) → 1 written, 0 not (the run is gone, or the patch's expect no longer holds) */
  arUpdate: script(`
local now = num(ARGV[3], 'now')
return patchRun(ARGV[2], now, checkPatch(cjson.decode(ARGV[4]))) and 1 or 0
`),

  /**
   * ARGV: P, kind ('match' | 'step' | 'none'), id, now, patch (JSON or ''), entries (JSON)
   * → per entry { runId, at, jobExisted }
   */
  arSettle: script(`
local kind, id, now = ARGV[2], ARGV[3], num(ARGV[4], 'now')
local entries = checkEntries(cjson.decode(ARGV[6]))
local patch = nil
if kind == 'step' and ARGV[5] ~= '' then patch = checkPatch(cjson.decode(ARGV[5])) end
if kind == 'step' then
  -- A patch whose expect no longer holds writes nothing; the work ends and the entries apply all the same.
  if patch then patchRun(id, now, patch) end
  local again = false
  for _, e in ipairs(entries) do if e.runId == id then again = true end end
  if not again then call('ZREM', P .. ':scheduled', id) end
elseif kind == 'match' then
  call('ZREM', P .. ':unmatched', id)
end
return scheduleRuns(entries, now)
`),

  /** ARGV: P, key, runId, ttl (integer ms; '' never expires, 0 expired already) → 1 taken, 0 held by another */
  arClaimOnce: script(`
local key, runId, ttl = P .. ':once:' .. ARGV[2], ARGV[3], ARGV[4]
if ttl ~= '' and (not string.match(ttl, '^%d+$') or #ttl > 15) then bad('ttl') end
local held = call('GET', key)
if held and held ~= runId then return 0 end
if ttl == '' then
  call('SET', key, runId)
elseif ttl ~= '0' then
  call('SET', key, runId, 'PX', ttl)
else
  call('DEL', key)
end
call('SADD', runKey(runId) .. ':once', ARGV[2])
return 1
`),

  /** ARGV: P, key, runId */
  arReleaseOnce: script(`
local key, runId = P .. ':once:' .. ARGV[2], ARGV[3]
if call('GET', key) == runId then call('DEL', key) end
call('SREM', runKey(runId) .. ':once', ARGV[2])
return 1
`),

  /**
   * ARGV: P, key, runId, now, wait, maxWait ('' none), scope, why
   * → { dueAt, { replaced runs (flat hashes) }, { scheduled: runId, at, jobExisted } }.
   * A step it coalesced away has the step after it scheduled here, so its recipe goes on whatever happens
   * to the answer; the same run asking again replaces nothing.
   */
  arDebounce: script(`
local dk, runId, now = P .. ':debounce:' .. ARGV[2], ARGV[3], tonumber(num(ARGV[4], 'now'))
local wait = tonumber(num(ARGV[5], 'wait'))
local maxWait = nil
if ARGV[6] ~= '' then maxWait = tonumber(num(ARGV[6], 'maxWait')) end
local row = call('HMGET', dk, 'runId', 'firstAt', 'dueAt')
if row[1] == runId then return { row[3], {}, {} } end
local firstAt = now
local replaced, next = {}, {}
if row[1] then
  local held = call('HMGET', runKey(row[1]), 'state', 'eventId', 'recipe')
  if held[1] == 'pending' then
    firstAt = tonumber(row[2]) or now
    local candidates = { row[1] }
    if ARGV[7] == 'job' and held[2] then candidates = call('SMEMBERS', eventKey(held[2]) .. ':runs') end
    for _, rid in ipairs(candidates) do
      if ARGV[7] ~= 'job' or call('HGET', runKey(rid), 'recipe') == held[3] then
        local r = skipIfPending(rid, ARGV[8], ARGV[4])
        if r then
          replaced[#replaced + 1] = r
          dropOnceOf(rid)
        end
      end
    end
    -- A step coalesced away: its recipe goes on with the step after it, scheduled in this same write.
    if ARGV[7] ~= 'job' and #replaced > 0 and held[2] then
      local index = tonumber(call('HGET', runKey(row[1]), 'stepIndex')) or -1
      local best, bestIndex, bestAt = nil, nil, nil
      for _, rid in ipairs(call('SMEMBERS', eventKey(held[2]) .. ':runs')) do
        local r = call('HMGET', runKey(rid), 'recipe', 'stepIndex', 'state', 'runAt')
        local i = tonumber(r[2]) or -1
        if r[1] == held[3] and i > index and (bestIndex == nil or i < bestIndex) then best, bestIndex, bestAt = rid, i, r[4] end
      end
      if best and call('HGET', runKey(best), 'state') == 'pending' then
        next = { { runId = best, at = int(math.max(tonumber(bestAt) or now, now)) } }
      end
    end
  end
end
local dueAt = now + wait
if maxWait then dueAt = math.min(dueAt, firstAt + maxWait) end
call('HSET', dk, 'runId', runId, 'firstAt', int(firstAt), 'dueAt', int(dueAt))
call('SADD', P .. ':debounces', ARGV[2])
if call('EXISTS', runKey(runId)) == 1 then call('HSET', runKey(runId), 'runAt', int(dueAt), 'updatedAt', ARGV[4]) end
return { int(dueAt), replaced, scheduleRuns(next, ARGV[4]) }
`),

  /** ARGV: P, key, runId */
  arReleaseDebounce: script(`
local dk = P .. ':debounce:' .. ARGV[2]
if call('HGET', dk, 'runId') == ARGV[3] then
  call('DEL', dk)
  call('SREM', P .. ':debounces', ARGV[2])
end
return 1
`),

  /** ARGV: P, eventId → runs (flat hashes) */
  arRunsForEvent: script(`
local out = {}
for _, rid in ipairs(call('SMEMBERS', eventKey(ARGV[2]) .. ':runs')) do
  local r = call('HGETALL', runKey(rid))
  if #r > 0 then out[#out + 1] = r end
end
return out
`),

  /**
   * ARGV: P, index key, limit, beforeAt ('' none), beforeId
   * → per event { id, type, receivedAt, hasTitle, title, dispatched, { { recipe, action, state, updatedAt } per run } }
   */
  arList: script(`
local index, limit, at, beforeId = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local ids = {}
if at == '' then
  ids = call('ZREVRANGEBYSCORE', index, '+inf', '-inf', 'LIMIT', 0, limit)
else
  -- Same received time: the id decides (members of equal score sort by id).
  local same = call('ZRANGEBYSCORE', index, at, at)
  for i = #same, 1, -1 do
    if #ids < limit and same[i] < beforeId then ids[#ids + 1] = same[i] end
  end
  if #ids < limit then
    for _, id in ipairs(call('ZREVRANGEBYSCORE', index, '(' .. at, '-inf', 'LIMIT', 0, limit - #ids)) do ids[#ids + 1] = id end
  end
end
local out = {}
for _, id in ipairs(ids) do
  local e = call('HMGET', eventKey(id), 'type', 'receivedAt', 'title', 'dispatchedAt')
  if e[1] then
    local runs = {}
    for _, rid in ipairs(call('SMEMBERS', eventKey(id) .. ':runs')) do
      local r = call('HMGET', runKey(rid), 'recipe', 'action', 'state', 'updatedAt')
      if r[3] then runs[#runs + 1] = { r[1] or '', r[2] or '', r[3], r[4] or '0' } end
    end
    out[#out + 1] = { id, e[1], e[2], e[3] and 1 or 0, e[3] or '', e[4] and 1 or 0, runs }
  end
end
return out
`),

  /** ARGV: P, job ids… → the earliest due time their intent records (a string), or nil when none has intent */
  arOldestDue: script(`
local oldest = nil
for i = 2, #ARGV do
  local at = call('ZSCORE', P .. ':scheduled', ARGV[i]) or call('ZSCORE', P .. ':unmatched', ARGV[i])
  if at and (oldest == nil or tonumber(at) < tonumber(oldest)) then oldest = at end
end
return oldest
`),

  /** ARGV: P, before, offset, count → { events, runs, kept, scanned } of one page of events received before `before` */
  arPrune: script(`
local ids = call('ZRANGEBYSCORE', P .. ':events', '-inf', '(' .. ARGV[2], 'LIMIT', tonumber(ARGV[3]), tonumber(ARGV[4]))
local events, runs, kept = 0, 0, 0
for _, id in ipairs(ids) do
  local key = eventKey(id)
  local runIds = call('SMEMBERS', key .. ':runs')
  -- Unfinished work is never pruned, and an event with an open run keeps its whole history.
  local open = call('EXISTS', key) == 1 and call('HEXISTS', key, 'dispatchedAt') == 0
  for _, rid in ipairs(runIds) do
    local s = call('HGET', runKey(rid), 'state')
    if s == 'pending' or s == 'running' or s == 'retrying' then open = true end
  end
  if not open then
    for _, rid in ipairs(runIds) do
      runs = runs + call('DEL', runKey(rid))
      call('DEL', runKey(rid) .. ':once')
      call('ZREM', P .. ':scheduled', rid)
    end
    local type = call('HGET', key, 'type')
    if type then call('ZREM', P .. ':events:' .. type, id) end
    events = events + call('DEL', key)
    call('DEL', key .. ':runs')
    call('ZREM', P .. ':events', id)
    call('ZREM', P .. ':unmatched', id)
  else
    kept = kept + 1
  end
end
return { events, runs, kept, #ids }
`),

  /** ARGV: P, cursor → { next cursor, deleted }: debounces whose run is gone or no longer waiting */
  arPruneDebounces: script(`
local page = call('SSCAN', P .. ':debounces', ARGV[2], 'COUNT', 200)
local deleted = 0
for _, k in ipairs(page[2]) do
  local dk = P .. ':debounce:' .. k
  local runId = call('HGET', dk, 'runId')
  if not runId or call('HGET', runKey(runId), 'state') ~= 'pending' then
    deleted = deleted + call('DEL', dk)
    call('SREM', P .. ':debounces', k)
  end
end
return { page[1], deleted }
`),

  /**
   * ARGV: P, intent set ('unmatched' | 'scheduled'), cutoff, offset, count
   * → { scanned, { id, score, ... } of intent whose BullMQ job does not exist }
   */
  arSweep: script(`
local rows = call('ZRANGEBYSCORE', P .. ':' .. ARGV[2], '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', tonumber(ARGV[4]), tonumber(ARGV[5]))
local missing = {}
for i = 1, #rows, 2 do
  if call('EXISTS', P .. ':schedule:' .. rows[i]) == 0 then
    missing[#missing + 1] = rows[i]
    missing[#missing + 1] = rows[i + 1]
  end
end
return { #rows / 2, missing }
`),

  /**
   * KEYS: slots, starts. ARGV: P, holder, concurrency (''), rate limit (''), rate interval, lease, start id
   * → 0 when taken, else ms to wait. Redis's clock, so replicas with skewed clocks agree.
   */
  arAcquire: script(`
local t = call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder, concurrency, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local interval, lease = tonumber(num(ARGV[5], 'interval')), tonumber(num(ARGV[6], 'lease'))
if ARGV[3] ~= '' and not concurrency then bad('concurrency') end
if ARGV[4] ~= '' and not limit then bad('rate limit') end
if concurrency then
  call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now))
  if not call('ZSCORE', KEYS[1], holder) and call('ZCARD', KEYS[1]) >= concurrency then
    local first = call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if #first == 0 then return 100 end
    -- Capped: a slot given back early is noticed soon.
    return math.max(1, math.min(100, tonumber(first[2]) - now))
  end
end
if limit then
  call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now - interval))
  if call('ZCARD', KEYS[2]) >= limit then
    local oldest = call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if #oldest == 0 then return math.max(1, interval) end
    return math.max(1, tonumber(oldest[2]) + interval - now)
  end
end
if concurrency then
  call('ZADD', KEYS[1], int(now + lease), holder)
  local last = call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  call('PEXPIRE', KEYS[1], int(math.max(1, tonumber(last[2]) - now)))
end
if limit then
  call('ZADD', KEYS[2], int(now), ARGV[7])
  call('PEXPIRE', KEYS[2], int(math.max(1, interval)))
end
return 0
`),

  /** KEYS: slots. ARGV: P, holder */
  arRelease: script(`
call('ZREM', KEYS[1], ARGV[2])
return 1
`),
} as const

export type ScriptName = keyof typeof SCRIPTS

/** Runs one of the scripts: its keys, then the key prefix as ARGV[1], then `args`. */
export type RunScript = <T>(name: ScriptName, keys: string[], ...args: string[]) => Promise<T>
