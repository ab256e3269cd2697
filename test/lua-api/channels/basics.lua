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

local function a_buffer_never_found_empty_keeps_its_order()
  -- Each receive leaves values behind and each send adds one: the buffer's values go round
  -- its ring (and move to a larger one while it fills) in the order they were sent.
  for size = 1, 9 do
    local ch, sent, got = channel.new(size), 0, {}
    for _ = 1, size do
      sent = sent + 1
      ch:send(sent)
    end
    for _ = 1, 50 do
      got[#got + 1] = ch:receive()
      sent = sent + 1
      ch:send(sent)
    end
    while #got < sent do got[#got + 1] = ch:receive() end
    for i = 1, sent do
      if got[i] ~= i then t.eq(got, "1.." .. sent, "values of a buffer of " .. size) end
    end
  end
  -- A full buffer with a sender blocked on it: a receive takes the oldest value and the
  -- sender's goes last.
  local ch, log = channel.new(3), {}
  coroutine.spawn(function()
    for i = 1, 20 do ch:send(i) end
  end)
  for _ = 1, 20 do
    time.sleep("1ms")
    log[#log + 1] = ch:receive()
  end
  t.eq(log, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, "order")
end

local function an_inbox_never_found_empty_keeps_its_order()
  -- Mail the process sends itself, received one at a time while more comes: its queue goes
  -- round a ring, and what TypeScript holds for it (the first sends, before its inbox) joins
  -- it in order.
  local me, inbox = process.pid(), nil
  for i = 1, 40 do process.send(me, "n", i) end
  inbox = process.inbox()
  local got, sent = {}, 40
  for _ = 1, 300 do
    got[#got + 1] = inbox:receive():payload():data()
    sent = sent + 1
    process.send(me, "n", sent)
  end
  while #got < sent do got[#got + 1] = inbox:receive():payload():data() end
  for i = 1, sent do
    if got[i] ~= i then t.eq(got, "1.." .. sent, "messages received in order") end
  end
end

return {
  a_buffer_never_found_empty_keeps_its_order = a_buffer_never_found_empty_keeps_its_order,
  an_inbox_never_found_empty_keeps_its_order = an_inbox_never_found_empty_keeps_its_order,
  unbuffered_send_waits_for_a_receiver = unbuffered_send_waits_for_a_receiver,
  unbuffered_receive_waits_for_a_sender = unbuffered_receive_waits_for_a_sender,
  buffered_channel_holds_size_values_without_blocking = buffered_channel_holds_size_values_without_blocking,
  channels_carry_any_value_including_false_and_tables = channels_carry_any_value_including_false_and_tables,
  receive_after_close_drains_the_buffer_then_returns_nil_false = receive_after_close_drains_the_buffer_then_returns_nil_false,
  send_on_a_closed_channel_raises = send_on_a_closed_channel_raises,
  close_is_idempotent = close_is_idempotent,
  close_wakes_blocked_receivers_and_senders = close_wakes_blocked_receivers_and_senders,
}
