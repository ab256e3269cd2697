-- time (docs/lua-api/time.md). Durations are integers of nanoseconds (or strings like "1h30m", or
-- Duration objects); times are Time objects over unix nanoseconds. Sleeping, timers and tickers
-- are JS timers that deliver a tick into a fed channel of the process, so they never hold a
-- fiber of their own and end with the process.
local host, rt = ...

local setmetatable, type, error, tostring = setmetatable, type, error, tostring
local raw_getmetatable = debug.getmetatable
local duration = rt.libs.duration({
  new_error = function(kind, message) return rt.make_error(kind, message, false) end,
})
local new_fed_channel = rt.new_fed_channel
local now_ns, timer_start, timer_stop = host.now, host.timer_start, host.timer_stop

local time = {
  NANOSECOND = duration.NANOSECOND,
  MICROSECOND = duration.MICROSECOND,
  MILLISECOND = duration.MILLISECOND,
  SECOND = duration.SECOND,
  MINUTE = duration.MINUTE,
  HOUR = duration.HOUR,
}

-- Durations ---------------------------------------------------------------------------------

local Duration = {}
local DURATION_MT = {
  __index = Duration,
  __name = 'duration',
  __metatable = false,
  __tostring = function(d) return duration.format(d._ns) end,
  __eq = function(a, b) return a._ns == b._ns end,
  __lt = function(a, b) return a._ns < b._ns end,
  __le = function(a, b) return a._ns <= b._ns end,
}

local function new_duration(ns)
  return setmetatable({ _ns = ns }, DURATION_MT)
end

--- Nanoseconds of a duration given as integer/float nanoseconds, text or a Duration.
local function to_ns(value, level)
  if raw_getmetatable(value) == DURATION_MT then return value._ns end
  local vt = type(value)
  if vt ~= 'number' and vt ~= 'string' then
    error('expected a duration (nanoseconds, a string like "1s", or a Duration), got ' .. vt, level + 1)
  end
  local ns, err = duration.normalize(value)
  if ns == nil then error(err, level + 1) end
  return ns
end
rt.duration_ns = to_ns

function Duration:nanoseconds() return self._ns end
function Duration:microseconds() return self._ns // 1000 end
function Duration:milliseconds() return self._ns // 1000000 end
function Duration:seconds() return self._ns / 1e9 end
function Duration:minutes() return self._ns / 6e10 end
function Duration:hours() return self._ns / 3.6e12 end
function Duration:string() return duration.format(self._ns) end

function time.parse_duration(text)
  if type(text) ~= 'string' then error('time.parse_duration expects a string', 2) end
  local ns, err = duration.parse(text)
  if ns == nil then return nil, err end
  return new_duration(ns)
end

-- Times ---------------------------------------------------------------------------------------

local Time = {}
local TIME_MT = {
  __index = Time,
  __name = 'time',
  __metatable = false,
  __eq = function(a, b) return a._ns == b._ns end,
  __lt = function(a, b) return a._ns < b._ns end,
  __le = function(a, b) return a._ns <= b._ns end,
}

local function new_time(ns)
  return setmetatable({ _ns = ns }, TIME_MT)
end
rt.new_time = new_time

local function check_time(t)
  if raw_getmetatable(t) ~= TIME_MT then error('expected a Time', 3) end
  return t._ns
end

function Time:unix() return self._ns // 1000000000 end
function Time:unix_nano() return self._ns end
function Time:add(d) return new_time(self._ns + to_ns(d, 2)) end
function Time:sub(t) return new_duration(self._ns - check_time(t)) end
function Time:before(t) return self._ns < check_time(t) end
function Time:after(t) return self._ns > check_time(t) end
function Time:equal(t) return self._ns == check_time(t) end

local MONTHS = { 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December' }
local DAYS = { 'Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday' }

local function fraction(nanos, digits, trim)
  local text = string.format('%09d', nanos):sub(1, digits)
  if trim then text = text:gsub('0+$', '') end
  return text == '' and '' or '.' .. text
end

-- Go reference-time layout tokens, longest first so "2006" wins over "2" and "06".
local TOKENS = {
  { 'January', function(d) return MONTHS[d.month] end },
  { 'Monday', function(d) return DAYS[d.wday] end },
  { 'Z07:00', function() return 'Z' end },
  { '-07:00', function() return '+00:00' end },
  { '-0700', function() return '+0000' end },
  { '.000000000', function(_, n) return fraction(n, 9, false) end },
  { '.999999999', function(_, n) return fraction(n, 9, true) end },
  { '.000000', function(_, n) return fraction(n, 6, false) end },
  { '.999999', function(_, n) return fraction(n, 6, true) end },
  { '.000', function(_, n) return fraction(n, 3, false) end },
  { '.999', function(_, n) return fraction(n, 3, true) end },
  { '2006', function(d) return string.format('%04d', d.year) end },
  { 'Jan', function(d) return MONTHS[d.month]:sub(1, 3) end },
  { 'Mon', function(d) return DAYS[d.wday]:sub(1, 3) end },
  { 'MST', function() return 'UTC' end },
  { '_2', function(d) return string.format('%2d', d.day) end },
  { '01', function(d) return string.format('%02d', d.month) end },
  { '02', function(d) return string.format('%02d', d.day) end },
  { '03', function(d) return string.format('%02d', (d.hour + 11) % 12 + 1) end },
  { '04', function(d) return string.format('%02d', d.min) end },
  { '05', function(d) return string.format('%02d', d.sec) end },
  { '06', function(d) return string.format('%02d', d.year % 100) end },
  { '15', function(d) return string.format('%02d', d.hour) end },
  { 'PM', function(d) return d.hour >= 12 and 'PM' or 'AM' end },
  { 'pm', function(d) return d.hour >= 12 and 'pm' or 'am' end },
  { '1', function(d) return tostring(d.month) end },
  { '2', function(d) return tostring(d.day) end },
  { '3', function(d) return tostring((d.hour + 11) % 12 + 1) end },
  { '4', function(d) return tostring(d.min) end },
  { '5', function(d) return tostring(d.sec) end },
}

--- Formats with a Go reference-time layout ("2006-01-02 15:04:05"), always in UTC.
function Time:format(layout)
  if type(layout) ~= 'string' then error('time:format expects a layout string', 2) end
  local seconds, nanos = self._ns // 1000000000, self._ns % 1000000000
  local date = os.date('!*t', seconds)
  local out, i, n = {}, 1, #layout
  while i <= n do
    local matched = false
    for _, token in ipairs(TOKENS) do
      local text = token[1]
      if layout:sub(i, i + #text - 1) == text then
        out[#out + 1] = token[2](date, nanos)
        i = i + #text
        matched = true
        break
      end
    end
    if not matched then
      out[#out + 1] = layout:sub(i, i)
      i = i + 1
    end
  end
  return table.concat(out)
end

function Time:format_rfc3339()
  return self:format('2006-01-02T15:04:05Z07:00')
end

TIME_MT.__tostring = function(t) return t:format('2006-01-02T15:04:05.999999999Z07:00') end

function time.now()
  return new_time(now_ns())
end

--- A Time from unix seconds and nanoseconds.
function time.unix(seconds, nanos)
  return new_time(seconds * 1000000000 + (nanos or 0))
end

-- Sleeping, timers, tickers ------------------------------------------------------------------

local function tick(ns) return new_time(ns) end

--- A channel that receives the time once, `d` from now.
function time.after(d)
  local ns = to_ns(d, 2)
  local ch = new_fed_channel('timer', tick)
  timer_start(ch.fed_id, ns, 0)
  return ch
end

function time.sleep(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return end
  local ch = new_fed_channel('timer', tick)
  timer_start(ch.fed_id, ns, 0)
  ch:receive()
end

-- Methods and metatables apart: `obj.__index` must not hand out a table every process shares.
local Timer = {}
local TIMER_MT = { __index = Timer, __name = 'timer', __metatable = false }

function Timer:channel() return self._channel end
--- Stops the timer; true if it had not fired yet.
function Timer:stop() return timer_stop(self._channel.fed_id) end
--- Starts the timer again to fire `d` from now; true if it had not fired yet.
function Timer:reset(d)
  local ns = to_ns(d, 2)
  local pending = timer_stop(self._channel.fed_id)
  timer_start(self._channel.fed_id, ns, 0)
  return pending
end

function time.timer(d)
  local ns = to_ns(d, 2)
  local ch = new_fed_channel('timer', tick)
  timer_start(ch.fed_id, ns, 0)
  return setmetatable({ _channel = ch }, TIMER_MT)
end

local Ticker = {}
local TICKER_MT = { __index = Ticker, __name = 'ticker', __metatable = false }

function Ticker:channel() return self._channel end
function Ticker:stop() timer_stop(self._channel.fed_id) end

--- Ticks every `d`; like Go, a slow reader misses ticks instead of queueing them (the timer
--- queues a tick only when the previous one was received).
function time.ticker(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then error('time.ticker needs a positive duration', 2) end
  local ch = new_fed_channel('ticker', tick)
  timer_start(ch.fed_id, ns, ns)
  return setmetatable({ _channel = ch }, TICKER_MT)
end

return time
