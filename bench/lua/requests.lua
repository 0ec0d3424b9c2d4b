-- wrk script: send the requests listed in a file, one per line, each wrk thread taking its own share.
-- A line is: METHOD <TAB> PATH <TAB> AUTHORIZATION (or -) <TAB> JSON BODY (or -).
-- With MODE=once each line is sent at most once (answers: a resend would be a replay, not new work) and a
-- thread that runs out stops; with MODE=cycle a thread goes round its lines. done() prints one JSON line:
-- BENCH_WRK {"requests", "status": {code: n}, "p50_ms", "p99_ms", "max_ms", "exhausted"}.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  local file, mode = args[1], args[2] or "cycle"
  local all = {}
  for line in io.lines(file) do table.insert(all, line) end
  local total = tonumber(args[3]) or 1
  mine = {}
  for i = index, #all, total do
    local method, path, auth, body = all[i]:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Accept"] = "application/json"}
    if auth ~= "-" then headers["Authorization"] = "Bearer " .. auth end
    if body == "-" then body = nil else headers["Content-Type"] = "application/json" end
    table.insert(mine, wrk.format(method, path, headers, body))
  end
  once = mode == "once"
  position = 0
  statuses = {}
  exhausted = 0
end

function request()
  position = position + 1
  if position > #mine then
    if once then
      exhausted = 1
      wrk.thread:stop()
      return mine[#mine]
    end
    position = 1
  end
  return mine[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged, exhausted_threads = {}, 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, n in pairs(counts) do merged[code] = (merged[code] or 0) + n end
    exhausted_threads = exhausted_threads + thread:get("exhausted")
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, string.format('"%d": %d', code, n)) end
  io.write(string.format('BENCH_WRK {"requests": %d, "status": {%s}, "p50_ms": %.2f, "p99_ms": %.2f, '
    .. '"max_ms": %.2f, "exhausted": %d}\n', summary.requests, table.concat(parts, ", "),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, exhausted_threads))
end
