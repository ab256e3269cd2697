-- time: Time, Duration, sleep, after, timers and tickers (docs/lua-api/time.md).
local t = require("t")
local time = require("time")

local function time_now_and_time_methods()
  local now = time.now()
  local unix = now:unix()
  t.type(unix, "number", "unix()")
  t.between(unix, os.time() - 2, os.time() + 2, "unix() against os.time()")
  t.eq(now:unix_nano() // 1000000000, unix, "unix_nano() in seconds")
  local later = now:add("1500ms")
  t.ok(later:after(now) and now:before(later), "add, before, after")
  t.ok(not now:after(later) and not later:before(now), "before and after are strict orders")
  t.ok(now:equal(now) and not now:equal(later), "equal")
  t.ok(later:sub(now) ~= nil, "sub returns a Duration")
  t.eq(later:sub(now):milliseconds(), 1500, "sub(t):milliseconds()")
  t.eq(now:sub(later):milliseconds(), -1500, "a negative Duration")
  t.eq(now:add(time.SECOND):sub(now):seconds(), 1, "add(time.SECOND)")
  t.eq(now:add(250 * time.MILLISECOND):unix_nano() - now:unix_nano(), 250000000, "add(nanoseconds)")
  local second = time.now()
  t.ok(not second:before(now), "time.now() does not go back")
end

local function time_formats_rfc3339_and_layouts()
  local now = time.now()
  local text = now:format_rfc3339()
  t.match(text, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", "format_rfc3339()")
  t.eq(text, os.date("!%Y-%m-%dT%H:%M:%SZ", now:unix()), "format_rfc3339() against os.date")
  t.eq(now:format("2006-01-02"), os.date("!%Y-%m-%d", now:unix()), "format with a date layout")
  t.eq(now:format("15:04:05"), os.date("!%H:%M:%S", now:unix()), "format with a time layout")
end

-- The upper bounds below catch a unit mistake (a sleep 1,000 times too long), with room for a
-- loaded machine's late wake-ups; the lower bounds, that nothing wakes early.
local function time_sleep_blocks_for_the_duration()
  local t0 = time.now()
  time.sleep("50ms")
  t.between(t.ms_since(t0), 48, 3000, "ms of time.sleep('50ms')")
  local t1 = time.now()
  time.sleep(20 * time.MILLISECOND)
  t.between(t.ms_since(t1), 18, 3000, "ms of time.sleep(20 * time.MILLISECOND)")
  local t2 = time.now()
  time.sleep(10000000)
  t.between(t.ms_since(t2), 8, 3000, "ms of time.sleep(10000000) (nanoseconds)")
end

local function time_after_yields_once()
  local t0 = time.now()
  local ch = time.after("20ms")
  local fired = t.receive(ch, "time.after('20ms')")
  t.ok(fired ~= nil and fired.unix_nano ~= nil, "time.after yields a Time")
  t.ge(t.ms_since(t0), 18, "ms until time.after fired")
  t.silent(ch, "40ms", "time.after yields only once")
end

local function timer_stop_and_reset()
  -- Due in 500 ms: the stop comes first even on a loaded machine (a 30 ms timer fired before
  -- the next line once, in a suite spread over two nodes); silent past when it was due.
  local timer = time.timer("500ms")
  t.eq(timer:stop(), true, "stop of a timer that has not fired")
  t.silent(timer:channel(), "700ms", "a stopped timer does not fire")

  local t0 = time.now()
  local reset = time.timer("1h")
  reset:reset("20ms")
  t.receive(reset:channel(), "a timer reset to 20 ms", "10s")
  t.ge(t.ms_since(t0), 18, "ms until the reset timer fired")

  local fires = time.timer("10ms")
  t.receive(fires:channel(), "a 10 ms timer")
  t.eq(fires:stop(), false, "stop of a timer that has fired")
  fires:reset("10ms")
  t.receive(fires:channel(), "a fired timer after reset")
end

local function ticker_ticks_and_stops()
  -- Read before the ticker starts: read after, a slice that ends between the two (a loaded
  -- machine) took that much off the time the three ticks are measured to take.
  local t0 = time.now()
  local ticker = time.ticker("10ms")
  for i = 1, 3 do t.receive(ticker:channel(), "tick " .. i) end
  t.between(t.ms_since(t0), 25, 3000, "ms for three 10 ms ticks")
  ticker:stop()
  time.sleep("15ms")
  -- A tick may have been waiting when the ticker stopped; after that, nothing.
  channel.select({ ticker:channel():case_receive(), default = true })
  t.silent(ticker:channel(), "40ms", "no ticks after stop")
end

local function durations_as_numbers_strings_and_constants()
  t.eq(time.NANOSECOND, 1, "time.NANOSECOND")
  t.eq(time.MICROSECOND, 1000, "time.MICROSECOND")
  t.eq(time.MILLISECOND, 1000000, "time.MILLISECOND")
  t.eq(time.SECOND, 1000000000, "time.SECOND")
  t.eq(time.MINUTE, 60 * time.SECOND, "time.MINUTE")
  t.eq(time.HOUR, 60 * time.MINUTE, "time.HOUR")
  local d = t.check("parse 1h30m", time.parse_duration("1h30m"))
  t.eq(d:minutes(), 90, "1h30m in minutes")
  t.eq(t.check("parse 250ms", time.parse_duration("250ms")):milliseconds(), 250, "250ms in milliseconds")
  t.eq(t.check("parse 1.5s", time.parse_duration("1.5s")):milliseconds(), 1500, "1.5s in milliseconds")
  local ok, value, err = pcall(time.parse_duration, "soon")
  t.ok(ok, "parse_duration of bad text returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("parse_duration('soon')", value, err)
  t.fails("parse_duration('5') (no unit)", time.parse_duration("5"))
end

local function duration_methods()
  local d = t.check("parse", time.parse_duration("1h2m3s"))
  t.eq(d:seconds(), 3723, "seconds()")
  t.eq(d:milliseconds(), 3723000, "milliseconds()")
  t.eq(d:minutes(), 3723 / 60, "minutes()")
  t.eq(d:hours(), 3723 / 3600, "hours()")
  local small = t.check("parse", time.parse_duration("1500us"))
  t.eq(small:microseconds(), 1500, "microseconds()")
  t.eq(small:nanoseconds(), 1500000, "nanoseconds()")
  t.eq(small:milliseconds(), 1, "milliseconds() of 1.5 ms")
  t.eq(small:seconds(), 0.0015, "seconds() of 1.5 ms")
  t.contains(tostring(d), "1h2m3s", "tostring of a Duration")
  local t0 = time.now()
  time.sleep(t.check("parse", time.parse_duration("15ms")))
  t.ge(t.ms_since(t0), 13, "time.sleep accepts a Duration")
end

local function time_dates_layouts_and_parsing()
  local t1 = time.date(2024, time.FEBRUARY, 29, 23, 59, 59, 500000000, time.utc)
  t.type(t1, "userdata", "a Time")
  t.eq(t1:format(time.RFC3339NANO), "2024-02-29T23:59:59.5Z", "format with RFC3339NANO")
  t.eq(t1:format("Mon Jan _2 3:04PM 2006"), "Thu Feb 29 11:59PM 2024", "format with names and a 12-hour clock")
  t.eq(t1:add("500ms"):format(time.DATE_TIME), "2024-03-01 00:00:00", "add carries into the next month")
  t.eq(t1:add_date(1, 0, 0):format(time.DATE_ONLY), "2025-03-01", "February 29 plus a year")
  t.eq(t1:weekday(), time.THURSDAY, "weekday()")
  local parsed = t.check("parse RFC3339", time.parse(time.RFC3339, "2024-02-29T23:59:59+01:00"))
  t.eq(parsed:utc():format(time.TIME_ONLY), "22:59:59", "parse keeps the offset of the text")
  t.eq(parsed:format("15:04 -07:00"), "23:59 +01:00", "and formats in it")
  local err = t.fails("parse of a day that does not exist", time.parse(time.DATE_ONLY, "2023-02-29"))
  t.is_error(err, errors.INVALID, "its error")
  t.eq(err:message(), 'parsing time "2023-02-29": day out of range', "Go's message")
end

local function time_zones()
  local paris = t.check("load Europe/Paris", time.load_location("Europe/Paris"))
  t.eq(paris:string(), "Europe/Paris", "the Location's name")
  local summer = time.date(2024, 7, 1, 12, 0, 0, 0, paris)
  local winter = time.date(2024, 1, 1, 12, 0, 0, 0, paris)
  t.eq(summer:utc():hour(), 10, "Paris is UTC+2 in summer")
  t.eq(winter:utc():hour(), 11, "and UTC+1 in winter")
  t.eq(winter:format("Z07:00 MST"), "+01:00 CET", "offset and abbreviation")
  t.ok(summer:in_location(time.utc):equal(summer), "in_location keeps the instant")
  t.eq(time.fixed_zone("X", -3600):string(), "X", "a fixed zone's name")
  t.is_error(t.fails("an unknown zone", time.load_location("Nowhere/Atlantis")), errors.NOT_FOUND)
  t.is_error(t.fails("an empty zone name", time.load_location("")), errors.INVALID)
end

local function a_time_crosses_processes_as_its_instant()
  local paris = t.check("load Europe/Paris", time.load_location("Europe/Paris"))
  local at = time.date(2024, 7, 1, 12, 30, 15, 123456789, paris)
  t.check("send a Time", process.send(process.pid(), "when", { at = at, list = { at } }))
  local msg = t.receive(process.inbox(), "the message")
  local got = msg:payload():data()
  t.eq(type(got.at), "userdata", "a Time again")
  t.eq(got.at:unix_nano(), at:unix_nano(), "the same instant, to the nanosecond")
  t.eq(got.at:location():string(), "UTC", "arriving in UTC")
  t.ok(got.list[1]:equal(at), "inside a list too")
  local past = time.unix(-86400 * 365, 5)
  t.check("send a Time before 1970", process.send(process.pid(), "when", past))
  t.eq(t.receive(process.inbox(), "the second message"):payload():data():unix_nano(),
    past:unix_nano(), "a Time before 1970")
end

return {
  a_time_crosses_processes_as_its_instant = a_time_crosses_processes_as_its_instant,
  time_dates_layouts_and_parsing = time_dates_layouts_and_parsing,
  time_zones = time_zones,
  time_now_and_time_methods = time_now_and_time_methods,
  time_formats_rfc3339_and_layouts = time_formats_rfc3339_and_layouts,
  time_sleep_blocks_for_the_duration = time_sleep_blocks_for_the_duration,
  time_after_yields_once = time_after_yields_once,
  timer_stop_and_reset = timer_stop_and_reset,
  ticker_ticks_and_stops = ticker_ticks_and_stops,
  durations_as_numbers_strings_and_constants = durations_as_numbers_strings_and_constants,
  duration_methods = duration_methods,
}
