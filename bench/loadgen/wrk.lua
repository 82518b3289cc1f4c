-- wrk script for credit-ledger's bench; bench/loadgen/wrk.py prepends the plan:
-- parts, pools, ok, refusals, headers, key_prefix, out_path.
-- Each wrk thread has its own Lua state: counters are thread globals, summed in done().
--
-- Latency is timed here, per answer: each request carries an X-Request-Id, which
-- the service echoes, and the answer to it is timed from the moment its request
-- was made.  wrk's own percentiles are not the answers' latencies: before done()
-- it "corrects" them for coordinated omission (stats_correct), adding for every
-- answer slower than twice a connection's mean interval made-up samples at each
-- interval below it, as if requests had been due at a fixed rate.  At 16 clients
-- that each wait for their answer, 1 answer in 200 at 200 ms turned a p99 of 2 ms
-- into one of 195 ms.  Its corrected p99 is still reported, beside.

local threads = {}
local KEY = "key"

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec[1]")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock[0].tv_sec) * 1000000 + tonumber(clock[0].tv_nsec) / 1000
end

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local ok_set, refusal_set = set_of(ok), set_of(refusals)
local buffer = {}

function init(args)
  math.randomseed(os.time() * 1000 + thread_no)
  counter, n_ok, n_refused, n_http, n_graphql, n_unexpected = 0, 0, 0, 0, 0, 0
  error_sample = ""
  sent, started, latencies, n_untimed = 0, {}, {}, 0
end

function request()
  for i = 1, #parts do
    local p = parts[i]
    if i % 2 == 1 then
      buffer[i] = p
    elseif p == KEY then
      counter = counter + 1
      buffer[i] = key_prefix .. thread_no .. "-" .. counter
    else
      local pool = pools[p]
      buffer[i] = pool[math.random(#pool)]
    end
  end
  sent = sent + 1
  local id = "bench-" .. thread_no .. "-" .. sent
  headers["X-Request-Id"] = id
  started[id] = now_us()
  return wrk.format("POST", nil, headers, table.concat(buffer, "", 1, #parts))
end

local function sample(body)
  if error_sample == "" then error_sample = string.sub(body, 1, 300) end
end

local function time_answer(answer_headers)
  local id = answer_headers["x-request-id"] or answer_headers["X-Request-Id"]
  local sent_at = id and started[id]
  if sent_at then
    started[id] = nil
    latencies[#latencies + 1] = now_us() - sent_at
  else
    n_untimed = n_untimed + 1
  end
end

function response(status, answer_headers, body)
  time_answer(answer_headers)
  if status ~= 200 then
    n_http = n_http + 1
    sample(tostring(status) .. " " .. (body or ""))
  elseif string.find(body, '"errors"%s*:') then
    n_graphql = n_graphql + 1
    sample(body)
  elseif #ok == 0 then
    n_ok = n_ok + 1
  else
    local t = string.match(body, '"__typename"%s*:%s*"([%w_]+)"')
    if t and ok_set[t] then
      n_ok = n_ok + 1
    elseif t and refusal_set[t] then
      n_refused = n_refused + 1
    else
      n_unexpected = n_unexpected + 1
      sample(body)
    end
  end
end

function done(summary, latency, _)
  local totals = {ok = 0, refused = 0, http = 0, graphql = 0, unexpected = 0, untimed = 0}
  local timed = assert(io.open(out_path .. ".latencies", "w"))
  local first_error = ""
  for _, t in ipairs(threads) do
    totals.ok = totals.ok + t:get("n_ok")
    totals.refused = totals.refused + t:get("n_refused")
    totals.http = totals.http + t:get("n_http")
    totals.graphql = totals.graphql + t:get("n_graphql")
    totals.unexpected = totals.unexpected + t:get("n_unexpected")
    totals.untimed = totals.untimed + t:get("n_untimed")
    for _, us in ipairs(t:get("latencies")) do timed:write(string.format("%.0f\n", us)) end
    local s = t:get("error_sample")
    if first_error == "" and s and s ~= "" then first_error = s end
  end
  timed:close()
  local e = summary.errors
  local f = assert(io.open(out_path, "w"))
  f:write("requests ", summary.requests, "\n")
  f:write("duration_us ", summary.duration, "\n")
  f:write("ok ", totals.ok, "\n")
  f:write("refused ", totals.refused, "\n")
  f:write("http_errors ", totals.http, "\n")
  f:write("graphql_errors ", totals.graphql, "\n")
  f:write("unexpected ", totals.unexpected, "\n")
  f:write("timeouts ", e.timeout, "\n")
  f:write("socket_errors ", e.connect + e.read + e.write, "\n")
  f:write("untimed ", totals.untimed, "\n")
  f:write("wrk_corrected_p99_us ", latency:percentile(99), "\n")
  -- Last line: the first unexpected answer, verbatim (newlines flattened).
  f:write("error_sample ", (string.gsub(first_error, "[\r\n]", " ")), "\n")
  f:close()
end
