-- channel.new, send, receive, close (docs/lua-api/channel.md).
local t = require("t")
local time = require("time")

local function unbuffered_send_waits_for_a_receiver()
  local ch = channel.new()
  local log = {}
  coroutine.spawn(function()
    log[#log + 1] = "send starts"
    t.eq(ch:send("hand-off"), true, "send returns true")
    log[#log + 1] = "send done"
  end)
  time.sleep("10ms")
  t.eq(log, { "send starts" }, "the sender is still waiting without a receiver")
  local v, ok = ch:receive()
  t.eq({ v, ok }, { "hand-off", true }, "receive")
  time.sleep("1ms")
  t.eq(log, { "send starts", "send done" }, "the send completed once received")
end

local function unbuffered_receive_waits_for_a_sender()
  local ch = channel.new(0)
  coroutine.spawn(function()
    time.sleep("20ms")
    ch:send("late")
  end)
  local t0 = time.now()
  t.eq(ch:receive(), "late", "value")
  t.ge(t.ms_since(t0), 15, "ms receive waited")
end

local function buffered_channel_holds_size_values_without_blocking()
  local ch = channel.new(2)
  local sent = 0
  coroutine.spawn(function()
    for i = 1, 3 do
      ch:send(i)
      sent = i
    end
  end)
  time.sleep("10ms")
  t.eq(sent, 2, "sends done before anyone receives (buffer of 2)")
  t.eq(ch:receive(), 1, "first value")
  time.sleep("1ms")
  t.eq(sent, 3, "the third send completed once there was room")
  t.eq({ ch:receive() }, { 2, true }, "second value")
  t.eq({ ch:receive() }, { 3, true }, "third value")
end

local function channels_carry_any_value_including_false_and_tables()
  local ch = channel.new(4)
  local tbl = { 1, 2 }
  ch:send(nil)
  t.eq(select("#", ch:receive()), 2, "receive of nil returns two values")
  ch:send(nil)
  t.eq({ ch:receive() }, { nil, true }, "nil")
  ch:send(false)
  ch:send(tbl)
  ch:send(0)
  t.eq({ ch:receive() }, { false, true }, "false")
  local got = ch:receive()
  t.ok(got == tbl, "a table is passed by reference within a process")
  t.eq({ ch:receive() }, { 0, true }, "zero")
end

local function receive_after_close_drains_the_buffer_then_returns_nil_false()
  local ch = channel.new(3)
  ch:send("a")
  ch:send("b")
  ch:close()
  t.eq({ ch:receive() }, { "a", true }, "first buffered value after close")
  t.eq({ ch:receive() }, { "b", true }, "second buffered value after close")
  local v, ok = ch:receive()
  t.eq({ v, ok }, { nil, false }, "receive on a closed, drained channel")
  t.eq(select("#", ch:receive()), 2, "receive after close returns two values")
  local unbuffered = channel.new()
  unbuffered:close()
  t.eq({ unbuffered:receive() }, { nil, false }, "receive on a closed unbuffered channel")
end

local function send_on_a_closed_channel_raises()
  local ch = channel.new(1)
  ch:close()
  t.raises(function() ch:send(1) end, "closed", "send on a closed buffered channel")
  local unbuffered = channel.new()
  unbuffered:close()
  t.raises(function() unbuffered:send(1) end, "closed", "send on a closed unbuffered channel")
end

local function close_is_idempotent()
  local ch = channel.new(1)
  t.runs(function() ch:close() end, "first close")
  t.runs(function() ch:close() end, "second close")
  t.eq({ ch:receive() }, { nil, false }, "receive after two closes")
end

local function close_wakes_blocked_receivers_and_senders()
  local ch = channel.new()
  local results = channel.new(10)
  for i = 1, 2 do
    coroutine.spawn(function()
      local v, ok = ch:receive()
      results:send({ "receiver " .. i, v, ok })
    end)
  end
  time.sleep("5ms")
  ch:close()
  local got = {}
  for i = 1, 2 do
    local r = t.receive(results, "woken receiver " .. i)
    got[r[1]] = { r[2], r[3] }
  end
  t.eq(got, { ["receiver 1"] = { nil, false }, ["receiver 2"] = { nil, false } }, "receivers woken by close")

  local full = channel.new()
  coroutine.spawn(function()
    local ok, err = pcall(full.send, full, "never taken")
    results:send({ ok, tostring(err) })
  end)
  time.sleep("5ms")
  full:close()
  local r = t.receive(results, "the blocked sender after close")
  t.eq(r[1], false, "a blocked send raises when the channel closes")
  t.contains(r[2], "closed", "its error")
end

return {
  unbuffered_send_waits_for_a_receiver = unbuffered_send_waits_for_a_receiver,
  unbuffered_receive_waits_for_a_sender = unbuffered_receive_waits_for_a_sender,
  buffered_channel_holds_size_values_without_blocking = buffered_channel_holds_size_values_without_blocking,
  channels_carry_any_value_including_false_and_tables = channels_carry_any_value_including_false_and_tables,
  receive_after_close_drains_the_buffer_then_returns_nil_false = receive_after_close_drains_the_buffer_then_returns_nil_false,
  send_on_a_closed_channel_raises = send_on_a_closed_channel_raises,
  close_is_idempotent = close_is_idempotent,
  close_wakes_blocked_receivers_and_senders = close_wakes_blocked_receivers_and_senders,
}
