-- os inside workflows: the time is the time of the event being handled, so a replay sees the
-- times the first execution saw. os.clock counts workflow seconds since the run started.
local host = ...

local os_time, os_date, os_difftime, type = os.time, os.date, os.difftime, type
local now_ms, started_ms = host.now_ms, host.started_ms

return {
  time = function(t)
    if t ~= nil then return os_time(t) end
    return now_ms() // 1000
  end,
  clock = function()
    return (now_ms() - started_ms()) / 1000
  end,
  date = function(format, t)
    if t == nil then t = now_ms() // 1000 end
    return os_date(format, t)
  end,
  difftime = os_difftime,
}
