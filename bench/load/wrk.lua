-- Driven by bench/lib/load.mjs: wrk -t1 -cN -dS -s wrk.lua URL -- FIXTURE KEY PATH SEED [LIMIT]
--
-- Every request is the fixture with its "id" replaced by a distinct number
-- (SEED, SEED+1, ...), so dedupe never short-cuts the store. With LIMIT, the
-- thread stops once LIMIT distinct requests have been answered; requests
-- sent after the LIMIT-th repeat the first body (duplicates: no new event).
-- wrk itself runs for its whole -d, so the thread writes "limit reached" on
-- stdout and the bench ends wrk with SIGINT. At the end, one line of JSON on
-- stdout: statuses, latency (us), duration.

-- Globals, not locals: done() reads them from the thread with thread:get().
head, tail, seed, limit = nil, nil, 0, 0
sent = 0
statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local text = f:read("*a")
  f:close()
  local s, e = text:find('"id":%s*4211')
  assert(s, "the fixture has no \"id\": 4211")
  head, tail = text:sub(1, s - 1), text:sub(e + 1)
  wrk.method = "POST"
  wrk.path = args[3]
  wrk.headers["content-type"] = "application/json"
  wrk.headers["x-audiorista-key"] = args[2]
  seed = tonumber(args[4])
  limit = tonumber(args[5] or "0")
end

function request()
  local n = sent
  if limit > 0 and n >= limit then n = 0 end
  sent = sent + 1
  return wrk.format(nil, nil, nil, head .. '"id": ' .. string.format("%d", seed + n) .. tail)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if limit > 0 and status == 202 and statuses[202] == limit then
    io.write("limit reached\n")
    io.flush()
    wrk.thread:stop()
  end
end

local function statusJson(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format('"%d": %d', k, v)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "sent": %d, "statuses": %s, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p99": %d, "p99_9": %d, "max": %d, "mean": %.1f}}\n',
    summary.duration, summary.requests, t:get("sent"), statusJson(t:get("statuses")),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
