-- wrk script for credit-ledger's bench; bench/loadgen/wrk.py prepends the plan:
-- parts, pools, ok, refusals, headers, key_prefix, out_path.
-- Each wrk thread has its own Lua state: counters are thread globals, summed in done().

local threads = {}
local KEY = "key"

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
  return wrk.format("POST", nil, headers, table.concat(buffer, "", 1, #parts))
end

local function sample(body)
  if error_sample == "" then error_sample = string.sub(body, 1, 300) end
end

function response(status, _, body)
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
  local totals = {ok = 0, refused = 0, http = 0, graphql = 0, unexpected = 0}
  local first_error = ""
  for _, t in ipairs(threads) do
    totals.ok = totals.ok + t:get("n_ok")
    totals.refused = totals.refused + t:get("n_refused")
    totals.http = totals.http + t:get("n_http")
    totals.graphql = totals.graphql + t:get("n_graphql")
    totals.unexpected = totals.unexpected + t:get("n_unexpected")
    local s = t:get("error_sample")
    if first_error == "" and s and s ~= "" then first_error = s end
  end
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
  for _, p in ipairs({50, 95, 99}) do
    f:write("p", p, "_us ", latency:percentile(p), "\n")
  end
  f:write("max_us ", latency.max, "\n")
  -- Last line: the first unexpected answer, verbatim (newlines flattened).
  f:write("error_sample ", (string.gsub(first_error, "[\r\n]", " ")), "\n")
  f:close()
end
