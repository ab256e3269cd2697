-- channel.select over receive and send cases, with a timeout or a default.
local t = require("t")
local time = require("time")

local function select_with_a_timeout_from_time_after()
  local never = channel.new()
  local t0 = time.now()
  local timeout = time.after("30ms")
  local ready = channel.select({ never:case_receive(), timeout:case_receive() })
  t.ok(ready.channel == timeout, "the timeout case fired")
  t.ok(ready.ok, "ok of the timeout case")
  t.ok(ready.value ~= nil and ready.value.unix_nano ~= nil, "time.after yields a Time")
  t.ge(t.ms_since(t0), 25, "ms until the timeout")

  local soon = channel.new(1)
  coroutine.spawn(function()
    time.sleep("5ms")
    soon:send("in time")
  end)
  local r = channel.select({ soon:case_receive(), time.after("1s"):case_receive() })
  t.ok(r.channel == soon, "the value case wins when it comes first")
  t.eq({ r.value, r.ok }, { "in time", true }, "value and ok")
end

local function select_with_default_when_nothing_is_ready()
  local a, b = channel.new(1), channel.new()
  local r = channel.select({ a:case_receive(), b:case_receive(), default = true })
  t.eq(r.default, true, "default when nothing is ready")
  t.eq(r.ok, true, "default is ok")
  t.is_nil(r.channel, "no channel with default")
  a:send("ready")
  local r2 = channel.select({ a:case_receive(), b:case_receive(), default = true })
  t.ok(r2.channel == a, "a ready case wins over default")
  t.eq(r2.value, "ready", "its value")
  t.ok(not r2.default, "not default")
  local r3 = channel.select({ b:case_send("no receiver"), default = true })
  t.eq(r3.default, true, "default when a send cannot proceed")
  coroutine.spawn(function() b:send("later") end)
  local r4 = channel.select({ b:case_receive(), default = false })
  t.ok(r4.channel == b and not r4.default, "default = false waits for a case")
  t.eq(r4.value, "later", "its value")
end

local function select_picks_the_first_listed_ready_case()
  local a, b, c = channel.new(1), channel.new(1), channel.new(1)
  a:send("a"); b:send("b"); c:send("c")
  local r1 = channel.select({ c:case_receive(), a:case_receive(), b:case_receive() })
  t.eq(r1.value, "c", "first listed of three ready cases")
  local r2 = channel.select({ c:case_receive(), b:case_receive(), a:case_receive() })
  t.eq(r2.value, "b", "c is empty now, b is listed before a")
  local r3 = channel.select({ c:case_receive(), b:case_receive(), a:case_receive() })
  t.eq(r3.value, "a", "only a is left")
end

local function select_with_send_cases()
  local buffered = channel.new(1)
  local r = channel.select({ buffered:case_send("into the buffer") })
  t.ok(r.channel == buffered, "the send case ran")
  t.eq(buffered:receive(), "into the buffer", "the value sent by select")

  local unbuffered = channel.new()
  local got = channel.new(1)
  coroutine.spawn(function() got:send(unbuffered:receive()) end)
  local full = channel.new(1)
  full:send("occupied")
  local r2 = channel.select({ full:case_send("no room"), unbuffered:case_send("to the receiver") })
  t.ok(r2.channel == unbuffered, "the send case with a waiting receiver ran")
  t.eq(t.receive(got, "the receiver's value"), "to the receiver", "value")
  t.eq({ full:receive() }, { "occupied", true }, "the full channel kept its value only")
end

local function select_on_a_closed_channel_gives_ok_false()
  local ch = channel.new()
  ch:close()
  local r = channel.select({ ch:case_receive(), time.after("1s"):case_receive() })
  t.ok(r.channel == ch, "a closed channel is ready")
  t.eq({ r.value, r.ok }, { nil, false }, "value and ok of a closed channel")
end

local function select_waits_for_the_first_case_to_become_ready()
  local a, b = channel.new(), channel.new()
  coroutine.spawn(function()
    time.sleep("10ms")
    b:send("b came first")
    a:send("a came later")
  end)
  local r = channel.select({ a:case_receive(), b:case_receive() })
  t.ok(r.channel == b, "the case that became ready first")
  t.eq(r.value, "b came first", "its value")
  t.eq(a:receive(), "a came later", "the other channel is untouched by the select")
end

return {
  select_with_a_timeout_from_time_after = select_with_a_timeout_from_time_after,
  select_with_default_when_nothing_is_ready = select_with_default_when_nothing_is_ready,
  select_picks_the_first_listed_ready_case = select_picks_the_first_listed_ready_case,
  select_with_send_cases = select_with_send_cases,
  select_on_a_closed_channel_gives_ok_false = select_on_a_closed_channel_gives_ok_false,
  select_waits_for_the_first_case_to_become_ready = select_waits_for_the_first_case_to_become_ready,
}
