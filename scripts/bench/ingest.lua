-- wrk script for scripts/bench-ingest.sh: POST /api/v1/messages with a unique external_id per
-- request and a realistic body drawn from a list of customer messages (bodies.lua, generated
-- by the shell script from data/taxonomy/test.csv). Each wrk thread gets its own id prefix so
-- no two requests in a run share an external_id (every request is a new message, not a
-- duplicate delivery). At the end it prints one parseable line with the figures.

local bodies_file = os.getenv("SB_BENCH_BODIES") or "bodies.lua"
local texts = dofile(bodies_file)           -- a table of JSON string literals, quotes included
local token = os.getenv("SB_BENCH_TOKEN") or ""
local run_id = os.getenv("SB_BENCH_RUN") or tostring(os.time())
local n_customers = 500

-- Globals, not locals: setup() sets thread_id in each thread's Lua state, and done() reads
-- statuses back through thread:get.
local threads = {}
thread_id = 0
counter = 0
statuses = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  math.randomseed(thread_id * 7919 + 17)
end

local channels = { "chat", "chat", "chat", "email", "api", "sms" }

function request()
  counter = counter + 1
  local text = texts[math.random(#texts)]
  local channel = channels[math.random(#channels)]
  local customer = math.random(n_customers)
  local body = '{"channel":"' .. channel .. '","text":' .. text ..
    ',"external_id":"bench-' .. run_id .. '-' .. thread_id .. '-' .. counter ..
    '","customer":{"email":"customer' .. customer .. '@example.com","name":"Customer ' .. customer .. '"}}'
  return wrk.format(nil, "/api/v1/messages", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local status_text = ""
  for _, thread in ipairs(threads) do
    local thread_statuses = thread:get("statuses")
    for status, count in pairs(thread_statuses) do
      status_text = status_text .. status .. ":" .. count .. " "
    end
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f errors_connect=%d errors_read=%d errors_timeout=%d non2xx=%d statuses=%s\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.timeout, summary.errors.status,
    status_text))
end
