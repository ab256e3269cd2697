-- time (docs/lua-api/time.md). Times, Durations and Locations are userdata whose user values
-- hold their state: a Time is unix seconds, nanoseconds (0..999999999) and a Location, so its
-- arithmetic is exact integer arithmetic over any year; a Duration is integer nanoseconds.
-- Calendar fields come from lua/calendar.lua, layouts from lua/layout.lua and
-- lua/layout_parse.lua; only offsets of named zones are asked of the host (Intl). Sleeping,
-- timers and tickers are JS timers that deliver a tick into a fed channel of the process, so
-- they never hold a fiber of their own and end with the process.
local host, rt = ...

local type, error, tostring, select, setmetatable = type, error, tostring, select, setmetatable
-- Metatables are compared raw: `==` would run a `__eq` planted on a value's metatable, handing
-- it the module's metatable, which every process of the host shares.
local rawequal = rawequal
local tointeger, floor, mathtype = math.tointeger, math.floor, math.type
local get_uv, set_uv, set_mt, raw_getmetatable = debug.getuservalue, debug.setuservalue,
  debug.setmetatable, debug.getmetatable
local calendar = rt.libs.calendar()
local layout = rt.libs.layout()
local parse_layout = rt.libs.layout_parse({ calendar = calendar, layout = layout })
local duration = rt.libs.duration({
  new_error = function(kind, message) return rt.make_error(kind, message, false) end,
})
local new_fed_channel, fed_id_of = rt.new_fed_channel, rt.fed_id_of
local now_ns, timer_start, timer_stop, timer_drop = host.now, host.timer_start, host.timer_stop,
  host.timer_drop
local new_userdata, zone_exists, zone_at, local_zone = rt.new_userdata, host.zone_exists,
  host.zone_at, host.local_zone

local NS_PER_SECOND = 1000000000

local function invalid(message) return nil, rt.make_error('INVALID', message, false) end

--- A userdata with metatable `mt` and user values a, b, c (the object's fields).
local function object(mt, a, b, c)
  local o = new_userdata(3)
  set_uv(o, a, 1)
  if b ~= nil then set_uv(o, b, 2) end
  if c ~= nil then set_uv(o, c, 3) end
  return set_mt(o, mt)
end

--- An integer argument (a float with an integral value counts), or an error naming it.
local function integer_arg(value, what, level)
  local n = tointeger(value)
  if n == nil then
    error(what .. ' must be an integer, got ' .. (type(value) == 'number' and tostring(value)
      or type(value)), level + 1)
  end
  return n
end

local time = {
  NANOSECOND = duration.NANOSECOND,
  MICROSECOND = duration.MICROSECOND,
  MILLISECOND = duration.MILLISECOND,
  SECOND = duration.SECOND,
  MINUTE = duration.MINUTE,
  HOUR = duration.HOUR,

  -- Go's reference-time layouts.
  LAYOUT = '01/02 03:04:05PM \'06 -0700',
  ANSIC = 'Mon Jan _2 15:04:05 2006',
  UNIX_DATE = 'Mon Jan _2 15:04:05 MST 2006',
  RUBY_DATE = 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822 = '02 Jan 06 15:04 MST',
  RFC822Z = '02 Jan 06 15:04 -0700',
  RFC850 = 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123 = 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z = 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339 = '2006-01-02T15:04:05Z07:00',
  RFC3339NANO = '2006-01-02T15:04:05.999999999Z07:00',
  KITCHEN = '3:04PM',
  STAMP = 'Jan _2 15:04:05',
  STAMP_MILLI = 'Jan _2 15:04:05.000',
  STAMP_MICRO = 'Jan _2 15:04:05.000000',
  STAMP_NANO = 'Jan _2 15:04:05.000000000',
  DATE_TIME = '2006-01-02 15:04:05',
  DATE_ONLY = '2006-01-02',
  TIME_ONLY = '15:04:05',

  JANUARY = 1, FEBRUARY = 2, MARCH = 3, APRIL = 4, MAY = 5, JUNE = 6, JULY = 7, AUGUST = 8,
  SEPTEMBER = 9, OCTOBER = 10, NOVEMBER = 11, DECEMBER = 12,

  SUNDAY = 0, MONDAY = 1, TUESDAY = 2, WEDNESDAY = 3, THURSDAY = 4, FRIDAY = 5, SATURDAY = 6,
}

-- Durations ---------------------------------------------------------------------------------

local Duration = {}
local DURATION_MT = {
  __index = Duration,
  __name = 'duration',
  __metatable = false,
  __tostring = function(d) return duration.format(get_uv(d, 1)) end,
  __eq = function(a, b) return get_uv(a, 1) == get_uv(b, 1) end,
  __lt = function(a, b) return get_uv(a, 1) < get_uv(b, 1) end,
  __le = function(a, b) return get_uv(a, 1) <= get_uv(b, 1) end,
}

local function new_duration(ns)
  return object(DURATION_MT, ns)
end

--- Nanoseconds of a duration given as integer/float nanoseconds, text or a Duration.
local function to_ns(value, level)
  if rawequal(raw_getmetatable(value), DURATION_MT) then return (get_uv(value, 1)) end
  local vt = type(value)
  if vt ~= 'number' and vt ~= 'string' then
    error('expected a duration (nanoseconds, a string like "1s", or a Duration), got ' .. vt, level + 1)
  end
  local ns, err = duration.normalize(value)
  if ns == nil then error(err, level + 1) end
  return ns
end
rt.duration_ns = to_ns

function Duration:nanoseconds() return (get_uv(self, 1)) end
function Duration:microseconds() return get_uv(self, 1) // 1000 end
function Duration:milliseconds() return get_uv(self, 1) // 1000000 end
function Duration:seconds() return get_uv(self, 1) / 1e9 end
function Duration:minutes() return get_uv(self, 1) / 6e10 end
function Duration:hours() return get_uv(self, 1) / 3.6e12 end
function Duration:string() return duration.format(get_uv(self, 1)) end

--- A Duration from text ("1h30m"), nanoseconds or a Duration; nil, err when text does not parse.
function time.parse_duration(value)
  if rawequal(raw_getmetatable(value), DURATION_MT) then return value end
  local vt = type(value)
  if vt ~= 'string' and vt ~= 'number' then
    error('time.parse_duration expects a string, a number of nanoseconds or a Duration, got '
      .. vt, 2)
  end
  local ns, err = duration.normalize(value)
  if ns == nil then return nil, err end
  return new_duration(ns)
end

-- Locations ---------------------------------------------------------------------------------
-- user values: 1 the name, 2 the fixed offset in seconds (nil for a named zone), 3 the IANA name.

local Location = {}
local LOCATION_MT = {
  __index = Location,
  __name = 'location',
  __metatable = false,
  __tostring = function(loc) return (get_uv(loc, 1)) end,
  __eq = function(a, b)
    return get_uv(a, 1) == get_uv(b, 1) and get_uv(a, 2) == get_uv(b, 2)
      and get_uv(a, 3) == get_uv(b, 3)
  end,
}

function Location:string() return (get_uv(self, 1)) end

local function fixed_location(name, offset) return object(LOCATION_MT, name, offset) end
local function named_location(name, zone) return object(LOCATION_MT, name, nil, zone) end

local UTC = fixed_location('UTC', 0)
local LOCAL_ZONE = local_zone()
local LOCAL = (LOCAL_ZONE == 'UTC' or LOCAL_ZONE == 'Etc/UTC') and UTC
  or named_location('Local', LOCAL_ZONE)
time.utc, time.localtz = UTC, LOCAL

--- Seconds east of UTC of `loc` at unix second `sec`, and the zone's abbreviation there.
local function offset_at(loc, sec)
  local fixed = get_uv(loc, 2)
  if fixed ~= nil then return fixed, (get_uv(loc, 1)) end
  return zone_at(get_uv(loc, 3), sec)
end

local function check_location(loc, what, level)
  if not rawequal(raw_getmetatable(loc), LOCATION_MT) then
    error(what .. ' must be a Location (time.utc, time.localtz, time.load_location(...)), got '
      .. type(loc), level + 1)
  end
  return loc
end

--- The Location of an IANA zone name ("Europe/Paris"); "UTC" and "Local" name the built-ins.
function time.load_location(name)
  if type(name) ~= 'string' then error('time.load_location expects a zone name string', 2) end
  if name == '' then return invalid('time: load_location needs a zone name, got ""') end
  if name == 'UTC' then return UTC end
  if name == 'Local' then return LOCAL end
  if not zone_exists(name) then
    return nil, rt.make_error('NOT_FOUND', 'unknown time zone ' .. name, false)
  end
  return named_location(name, name)
end

function time.fixed_zone(name, offset)
  if type(name) ~= 'string' then error('time.fixed_zone expects a name string', 2) end
  return fixed_location(name, integer_arg(offset, 'the offset in seconds', 2))
end

-- Times ---------------------------------------------------------------------------------------
-- user values: 1 unix seconds, 2 nanoseconds (0..999999999), 3 the Location.

local Time = {}

local function compare(a, b)
  local sa, sb = get_uv(a, 1), get_uv(b, 1)
  if sa ~= sb then return sa < sb and -1 or 1 end
  local na, nb = get_uv(a, 2), get_uv(b, 2)
  return na == nb and 0 or (na < nb and -1 or 1)
end

local TIME_MT = {
  __index = Time,
  __name = 'time',
  __metatable = false,
  __eq = function(a, b) return compare(a, b) == 0 end,
  __lt = function(a, b) return compare(a, b) < 0 end,
  __le = function(a, b) return compare(a, b) <= 0 end,
}

--- A Time at unix second `sec` plus `nsec` nanoseconds (any integer: it carries into seconds).
local function new_time(sec, nsec, loc)
  return object(TIME_MT, sec + nsec // NS_PER_SECOND, nsec % NS_PER_SECOND, loc or UTC)
end

--- Time of unix nanoseconds, in UTC (what the kernel and timers hand out).
rt.new_time = function(ns) return new_time(0, ns, UTC) end

-- A Time crosses processes, nodes and journals as msgpack's timestamp (ext -1): its instant,
-- arriving in UTC. Written in the 96-bit form; the 32- and 64-bit forms are read too.
local TIMESTAMP_EXT = -1
rt.add_codec_ext(TIME_MT, TIMESTAMP_EXT, function(t)
  return string.pack('>I4i8', get_uv(t, 2), get_uv(t, 1))
end, function(payload)
  local n = #payload
  if n == 4 then return new_time(string.unpack('>I4', payload), 0) end
  if n == 8 then
    local bits = string.unpack('>I8', payload)
    return new_time(bits & 0x3ffffffff, bits >> 34)
  end
  if n == 12 then
    local nsec, sec = string.unpack('>I4i8', payload)
    return new_time(sec, nsec)
  end
  error('msgpack: a timestamp of ' .. n .. ' bytes (4, 8 or 12 expected)', 0)
end)

local function check_time(t, level)
  if not rawequal(raw_getmetatable(t), TIME_MT) then
    error('expected a Time, got ' .. type(t), level + 1)
  end
  return t
end

--- The calendar fields of a Time in its own Location, plus nsec, offset and abbrev.
local function fields_of(t)
  local sec = get_uv(t, 1)
  local offset, abbrev = offset_at(get_uv(t, 3), sec)
  local f = calendar.fields(sec + offset)
  f.nsec, f.offset, f.abbrev = get_uv(t, 2), offset, abbrev
  return f
end

--- The Time whose wall clock in `loc` reads the given fields (each may overflow and carry).
local function from_wall(year, month, day, hour, min, sec, nsec, loc)
  local wall = calendar.seconds_from_civil(year, month, day, hour, min, sec)
    + nsec // NS_PER_SECOND
  -- A named zone's offset depends on the instant: the offset at the wall time read as UTC
  -- gives a first guess of the instant, the offset there is the answer (Go does the same).
  local offset = offset_at(loc, wall - offset_at(loc, wall))
  return new_time(wall - offset, nsec % NS_PER_SECOND, loc)
end

function Time:unix() return (get_uv(self, 1)) end
function Time:unix_nano() return get_uv(self, 1) * NS_PER_SECOND + get_uv(self, 2) end
function Time:nanosecond() return (get_uv(self, 2)) end
function Time:year() return fields_of(self).year end
function Time:month() return fields_of(self).month end
function Time:day() return fields_of(self).day end
function Time:hour() return fields_of(self).hour end
function Time:minute() return fields_of(self).min end
function Time:second() return fields_of(self).sec end
function Time:weekday() return fields_of(self).wday end
function Time:year_day() return fields_of(self).yday end

function Time:date()
  local f = fields_of(self)
  return f.year, f.month, f.day
end

function Time:clock()
  local f = fields_of(self)
  return f.hour, f.min, f.sec
end

--- True for Go's zero Time, January 1 of year 1, 00:00:00 UTC.
function Time:is_zero()
  return get_uv(self, 1) == -calendar.UNIX_TO_YEAR_ONE and get_uv(self, 2) == 0
end

function Time:add(d)
  local ns = to_ns(d, 2)
  return new_time(get_uv(self, 1) + ns // NS_PER_SECOND,
    get_uv(self, 2) + ns % NS_PER_SECOND, get_uv(self, 3))
end

local MAX_SECONDS = math.maxinteger // NS_PER_SECOND

--- The Duration from `u` to this Time; beyond ±292 years it stops at the largest Duration.
function Time:sub(u)
  check_time(u, 2)
  local seconds = get_uv(self, 1) - get_uv(u, 1)
  local nanos = get_uv(self, 2) - get_uv(u, 2)
  if seconds > MAX_SECONDS then return new_duration(math.maxinteger) end
  if seconds < -MAX_SECONDS - 1 then return new_duration(math.mininteger) end
  return new_duration(seconds * NS_PER_SECOND + nanos)
end

function Time:add_date(years, months, days)
  years = integer_arg(years, 'years', 2)
  months = integer_arg(months, 'months', 2)
  days = integer_arg(days, 'days', 2)
  local f = fields_of(self)
  return from_wall(f.year + years, f.month + months, f.day + days, f.hour, f.min, f.sec,
    f.nsec, get_uv(self, 3))
end

function Time:before(u) return compare(self, check_time(u, 2)) < 0 end
function Time:after(u) return compare(self, check_time(u, 2)) > 0 end
function Time:equal(u) return compare(self, check_time(u, 2)) == 0 end

function Time:location() return (get_uv(self, 3)) end
function Time:utc() return new_time(get_uv(self, 1), get_uv(self, 2), UTC) end
function Time:in_local() return new_time(get_uv(self, 1), get_uv(self, 2), LOCAL) end
function Time:in_location(loc)
  return new_time(get_uv(self, 1), get_uv(self, 2), check_location(loc, 'the location', 2))
end

--- Nanoseconds since January 1 of year 1 modulo d (Go rounds times counted from its zero Time).
local function remainder(t, d)
  return calendar.remainder_since_year_one(get_uv(t, 1), get_uv(t, 2), d)
end

--- This Time rounded down to a multiple of `d`; a `d` of zero or less leaves it as it is.
function Time:truncate(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return self end
  return self:add(-remainder(self, ns))
end

--- This Time rounded to the nearest multiple of `d`, halfway values upwards.
function Time:round(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return self end
  local r = remainder(self, ns)
  if math.ult(r + r, ns) then return self:add(-r) end
  return self:add(ns - r)
end

--- Writes this Time, in its Location, after a Go layout ("2006-01-02 15:04:05").
function Time:format(text)
  if type(text) ~= 'string' then error('time:format expects a layout string', 2) end
  return layout.format(text, fields_of(self))
end

function Time:format_rfc3339() return layout.format(time.RFC3339, fields_of(self)) end

TIME_MT.__tostring = function(t) return layout.format(time.RFC3339NANO, fields_of(t)) end

function time.now()
  return new_time(0, now_ns(), UTC)
end

--- A Time from unix seconds and nanoseconds, in UTC; a float of seconds keeps its fraction.
function time.unix(seconds, nanos)
  if type(seconds) ~= 'number' then error('time.unix expects a number of seconds', 2) end
  local nsec = integer_arg(nanos or 0, 'the nanoseconds', 2)
  local whole = tointeger(seconds)
  if whole == nil then
    if seconds ~= seconds or seconds == 1 / 0 or seconds == -1 / 0 then
      error('time.unix expects a finite number of seconds', 2)
    end
    whole = floor(seconds)
    nsec = nsec + floor((seconds - whole) * 1e9 + 0.5)
    whole = tointeger(whole) or error('time.unix: seconds out of range', 2)
  end
  return new_time(whole, nsec, UTC)
end

local DATE_FIELDS = { 'year', 'month', 'day', 'hour', 'minute', 'second', 'nanosecond' }

--- The Time whose clock in `loc` (default time.localtz) reads the given fields; fields out
--- of range carry over (month 13 is January of the next year), as in Go.
function time.date(...)
  local values = { ... }
  for i, name in ipairs(DATE_FIELDS) do
    local value = values[i]
    if value == nil and i > 3 then value = 0 end
    values[i] = integer_arg(value, 'time.date: ' .. name, 2)
  end
  local loc = select('#', ...) >= 8 and values[8] ~= nil
    and check_location(values[8], 'time.date: the location', 2) or LOCAL
  return from_wall(values[1], values[2], values[3], values[4], values[5], values[6], values[7],
    loc)
end

--- The offset `loc` has under abbreviation `name` around wall second `wall` of `year`, or nil:
--- the abbreviation in effect then, else the same name at another time of the year ("EST" read
--- in July), as Go's lookupName does.
local function offset_named(loc, name, wall, year)
  local seen
  for _, at in ipairs({ wall, calendar.seconds_from_civil(year, 1, 1, 0, 0, 0),
    calendar.seconds_from_civil(year, 7, 1, 0, 0, 0) }) do
    local offset, abbrev = offset_at(loc, at)
    if abbrev == name then
      if select(2, offset_at(loc, wall - offset)) == name then return offset end
      seen = seen or offset
    end
  end
  return seen
end

--- Reads `value` after a Go layout; the zone the text names wins, else `loc` (default UTC).
function time.parse(text, value, loc)
  if type(text) ~= 'string' then error('time.parse expects a layout string', 2) end
  if type(value) ~= 'string' then error('time.parse expects the text to parse as a string', 2) end
  loc = loc ~= nil and check_location(loc, 'time.parse: the location', 2) or UTC
  local f, message = parse_layout(text, value)
  if f == nil then return invalid(message) end
  if f.zone_utc then
    return from_wall(f.year, f.month, f.day, f.hour, f.min, f.sec, f.nsec, UTC)
  end
  local utc_wall = calendar.seconds_from_civil(f.year, f.month, f.day, f.hour, f.min, f.sec)
  if f.zone_offset ~= nil then
    local sec = utc_wall - f.zone_offset
    -- `loc` stays when its offset (and name, if the text gave one) at that instant match;
    -- otherwise the zone is a fixed one with the text's offset and name.
    local offset, abbrev = offset_at(loc, sec)
    if offset == f.zone_offset and (f.zone_name == nil or f.zone_name == abbrev) then
      return new_time(sec, f.nsec, loc)
    end
    return new_time(sec, f.nsec, fixed_location(f.zone_name or '', f.zone_offset))
  end
  if f.zone_name ~= nil then
    local offset = offset_named(loc, f.zone_name, utc_wall, f.year)
    if offset ~= nil then return new_time(utc_wall - offset, f.nsec, loc) end
    -- An abbreviation `loc` does not use: its offset is unknown (0), except "GMT+3" and the like.
    local hours = tonumber(f.zone_name:match('^GMT([+-]%d+)$') or 0)
    return new_time(utc_wall - hours * 3600, f.nsec, fixed_location(f.zone_name, hours * 3600))
  end
  return from_wall(f.year, f.month, f.day, f.hour, f.min, f.sec, f.nsec, loc)
end

-- Sleeping, timers, tickers ------------------------------------------------------------------

local function tick(ns) return new_time(0, ns, UTC) end

-- A timer whose channel nobody holds any more is stopped, and the tick it queued dropped: the
-- deadline of a `select` that a message won (`time.after` in a receive loop) would otherwise
-- stay armed until it fired, then keep its tick until the process ended. Each such channel
-- has a guard (GUARDS: alive while the channel is) whose finalizer adds its id to its
-- process's list of dropped timers; the process stops those before it arms its next timer.
-- (The finalizer may run inside any process: it only appends to that list.)
local GUARDS = setmetatable({}, { __mode = 'k' })
rt.share(GUARDS)
local GUARD_MT = {
  __gc = function(guard)
    local state = guard[1]
    local dropped = state.dropped_timers
    if dropped == nil then
      dropped = {}
      state.dropped_timers = dropped
    end
    dropped[#dropped + 1] = guard[2]
  end,
}

--- Stops the running process's timers whose channels were collected.
local function stop_dropped(state)
  local dropped = state.dropped_timers
  if dropped == nil then return end
  state.dropped_timers = nil
  for i = 1, #dropped do timer_drop(dropped[i]) end
end

--- Starts the timer of channel `id` (ticking after `ns`, then every `repeat_ns`): the running
--- process's kernel state (its guards' list); or nil and a RATE_LIMITED error when the process
--- has the most timers it may have armed, even after a collection stopped those nobody holds.
local function start_timer(id, ns, repeat_ns)
  local _, group = rt.fiber()
  local state = rt.group_state(group)
  stop_dropped(state)
  local armed, limit = timer_start(id, ns, repeat_ns)
  if armed == nil then
    collectgarbage('collect')
    stop_dropped(state)
    armed, limit = timer_start(id, ns, repeat_ns)
    if armed == nil then
      return nil, rt.make_error('RATE_LIMITED', 'this process has ' .. limit ..
        ' timers armed, the most one process may have (stop some, or let them fire)', false)
    end
  end
  return state
end

--- Starts the timer of fed channel `ch` (as start_timer), guarded as above unless `unguarded`
--- (a sleep takes its tick before it returns): `ch`, or nil and the error.
local function arm(ch, ns, repeat_ns, unguarded)
  local id = fed_id_of(ch)
  local state, err = start_timer(id, ns, repeat_ns)
  if state == nil then return nil, err end
  if not unguarded then GUARDS[ch] = setmetatable({ state, id }, GUARD_MT) end
  return ch
end

--- A channel that receives the time once, `d` from now.
function time.after(d)
  local ns = to_ns(d, 2)
  local ch, err = arm(new_fed_channel('timer', tick), ns, 0)
  if ch == nil then error(err, 2) end
  return ch
end

function time.sleep(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return end
  local ch, err = arm(new_fed_channel('timer', tick), ns, 0, true)
  if ch == nil then error(err, 2) end
  ch:receive()
end

-- The channel id of each timer and ticker, where user code cannot write it: a `_channel` field
-- the process rewrote would aim stop and reset at another of its channels (its inbox).
local CLOCK_IDS = setmetatable({}, { __mode = 'k' })
rt.share(CLOCK_IDS)

--- The channel id of timer or ticker `self`, for method `method`.
local function clock_id(self, method)
  local id = CLOCK_IDS[self]
  if id == nil then error(method .. ' expects a ' .. method:match('^%a+') .. ' (call it with a colon)', 3) end
  return id
end

--- A timer or ticker object of metatable `mt` whose channel `ch` JS feeds.
local function clock_of(ch, mt)
  local clock = setmetatable({ _channel = ch }, mt)
  CLOCK_IDS[clock] = fed_id_of(ch)
  return clock
end

-- Methods and metatables apart: `obj.__index` must not hand out a table every process shares.
local Timer = {}
local TIMER_MT = { __index = Timer, __name = 'timer', __metatable = false }

function Timer:channel() return self._channel end
Timer.response = Timer.channel
--- Stops the timer; true if it had not fired yet.
function Timer:stop() return timer_stop(clock_id(self, 'timer:stop')) end
--- Starts the timer again to fire `d` from now; true if it had not fired yet.
function Timer:reset(d)
  local ns = to_ns(d, 2)
  local id = clock_id(self, 'timer:reset')
  local pending = timer_stop(id)
  local started, err = start_timer(id, ns, 0)
  if started == nil then error(err, 2) end
  return pending
end

--- A timer firing once, `d` from now; nil, INVALID for a duration of zero or less.
function time.timer(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return invalid('time: timer needs a positive duration, got ' .. duration.format(ns)) end
  local ch, err = arm(new_fed_channel('timer', tick), ns, 0)
  if ch == nil then return nil, err end
  return clock_of(ch, TIMER_MT)
end

local Ticker = {}
local TICKER_MT = { __index = Ticker, __name = 'ticker', __metatable = false }

function Ticker:channel() return self._channel end
Ticker.response = Ticker.channel
--- Stops the ticker; true if it was still running.
function Ticker:stop() return timer_stop(clock_id(self, 'ticker:stop')) end

--- Ticks every `d`; like Go, a slow reader misses ticks instead of queueing them (the timer
--- queues a tick only when the previous one was received). nil, INVALID when `d` is not positive.
function time.ticker(d)
  local ns = to_ns(d, 2)
  if ns <= 0 then return invalid('time: ticker needs a positive duration, got ' .. duration.format(ns)) end
  local ch, err = arm(new_fed_channel('ticker', tick), ns, ns)
  if ch == nil then return nil, err end
  return clock_of(ch, TICKER_MT)
end

return time
