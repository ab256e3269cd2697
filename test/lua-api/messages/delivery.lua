-- Delivery of messages: order, routing between listen channels and the inbox, mail that
-- arrives before the receiver opens a channel, and the channel objects themselves.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Receives `count` messages from its inbox and sends their payloads back to `parent`.
local function collector(parent, count)
  local inbox = process.inbox()
  local got = {}
  for i = 1, count do
    got[i] = inbox:receive():payload():data()
  end
  process.send(parent, "collected", got)
end

--- Sends 1..count to `parent` under topic "n".
local function counter(parent, count)
  for i = 1, count do
    process.send(parent, "n", i)
  end
end

--- Waits for "go", then opens a listen channel for "a" and the inbox, and reports what each got.
local function late_opener(parent)
  local go = process.listen("go")
  go:receive()
  local a = process.listen("a")
  local inbox = process.inbox()
  local msg = inbox:receive()
  process.send(parent, "report", {
    a = { (a:receive()), (a:receive()) },
    inbox = { topic = msg:topic(), data = msg:payload():data() },
  })
end

-- Tests -------------------------------------------------------------------------------------

local function five_messages_from_one_sender_arrive_in_order()
  local me = process.pid()
  local results = process.listen("collected")
  local child = t.check("spawn the collector", process.spawn("collector", HOST, me, 5))
  for i = 1, 5 do
    t.eq(process.send(child, "n", i), true, "send " .. i)
  end
  t.eq(t.receive(results, "the collector's report"), { 1, 2, 3, 4, 5 }, "payloads as the child received them")

  local numbers = process.listen("n")
  t.check("spawn the counter", process.spawn("counter", HOST, me, 5))
  local got = {}
  for i = 1, 5 do got[i] = t.receive(numbers, "message " .. i .. " from the counter") end
  t.eq(got, { 1, 2, 3, 4, 5 }, "payloads as the parent received them")
end

local function five_hundred_messages_keep_their_order_across_retention_and_batches()
  local me = process.pid()
  local numbers = process.listen("n")
  t.check("spawn the counter", process.spawn("counter", HOST, me, 500))
  local got = {}
  for i = 1, 500 do got[i] = t.receive(numbers, "message " .. i .. " of 500") end
  local out_of_order
  for i = 1, 500 do
    if got[i] ~= i then out_of_order = out_of_order or i end
  end
  t.is_nil(out_of_order, "first position out of order on the listen channel")

  -- Half of them sent to ourselves before the listen channel exists (and without an inbox).
  for i = 1, 250 do process.send(me, "m", i) end
  local later = process.listen("m")
  for i = 251, 500 do process.send(me, "m", i) end
  for i = 1, 500 do
    local v = t.receive(later, "retained or later message " .. i)
    if v ~= i then t.fail("order of retained and later messages", "position " .. i .. " holds " .. t.show(v)) end
  end
  t.silent(process.inbox(), "1ms", "nothing for the inbox")
end

local function listened_topic_goes_to_its_channel_and_others_to_the_inbox()
  local me = process.pid()
  local a = process.listen("a")
  local inbox = process.inbox()
  process.send(me, "b", "to the inbox")
  process.send(me, "a", "to the listen channel")
  t.eq(t.receive(a, "the listened topic"), "to the listen channel", "listen channel payload")
  local msg = t.receive(inbox, "the other topic")
  t.eq(msg:topic(), "b", "topic of the inbox message")
  t.eq(msg:payload():data(), "to the inbox", "payload of the inbox message")
  t.silent(inbox, "20ms", "the inbox gets nothing of the listened topic")
  t.silent(a, "1ms", "the listen channel gets nothing else")
end

local function messages_sent_before_listen_or_inbox_exist_are_kept()
  -- Sent to ourselves before any channel exists.
  local me = process.pid()
  process.send(me, "a", "early a")
  process.send(me, "b", "early b")
  time.sleep("10ms")
  local a = process.listen("a")
  t.eq(t.receive(a, "the early message of the listened topic"), "early a", "early a")
  local inbox = process.inbox()
  local msg = t.receive(inbox, "the early message of another topic")
  t.eq({ msg:topic(), msg:payload():data() }, { "b", "early b" }, "early b, in the inbox")

  -- Sent to a child that opens its channels only later.
  local reports = process.listen("report")
  local child = t.check("spawn the late opener", process.spawn("late_opener", HOST, me))
  process.send(child, "a", 1)
  process.send(child, "other", "kept for the inbox")
  process.send(child, "a", 2)
  time.sleep("20ms")
  process.send(child, "go")
  t.eq(t.receive(reports, "the late opener's report"), {
    a = { 1, 2 },
    inbox = { topic = "other", data = "kept for the inbox" },
  }, "what the late opener received")
end

local function inbox_events_and_listen_return_the_same_channel_each_call()
  local inbox, events, a = process.inbox(), process.events(), process.listen("a")
  t.ok(inbox == process.inbox(), "process.inbox() returns the same channel")
  t.ok(events == process.events(), "process.events() returns the same channel")
  t.ok(a == process.listen("a"), "process.listen('a') returns the same channel")
  t.ok(a ~= process.listen("b"), "another topic has another channel")
  t.ok(inbox ~= events and inbox ~= a, "inbox, events and listen channels are distinct")
  -- The same channel also yields the same messages.
  process.send(process.pid(), "x", 1)
  t.eq(t.receive(process.inbox(), "a message through a second process.inbox() call"):payload():data(), 1, "payload")
end

local function listen_with_the_message_option_yields_message_objects()
  local me = process.pid()
  local raw = process.listen("raw")
  local wrapped = process.listen("wrapped", { message = true })
  process.send(me, "raw", { n = 1 })
  process.send(me, "wrapped", { n = 2 })
  t.eq(t.receive(raw, "a raw payload"), { n = 1 }, "listen yields the raw payload value")
  local msg = t.receive(wrapped, "a message object")
  t.eq(msg:topic(), "wrapped", "msg:topic()")
  t.eq(msg:from(), me, "msg:from()")
  t.eq(msg:payload():data(), { n = 2 }, "msg:payload():data()")
end

local function message_knows_its_topic_sender_and_payload_values()
  local me = process.pid()
  local inbox = process.inbox()
  t.eq(process.send(me, "several", 1, "two", { three = 3 }), true, "send with several payload values")
  local msg = t.receive(inbox, "the message")
  t.eq(msg:topic(), "several", "msg:topic()")
  t.eq(msg:from(), me, "msg:from() is the sender's PID")
  t.eq({ msg:payload():data() }, { 1, "two", { three = 3 } }, "all payload values")

  process.send(me, "empty")
  local empty = t.receive(inbox, "a message without payload values")
  t.eq(select("#", empty:payload():data()), 0, "payload values of a message sent without any")
  local a = process.listen("a")
  process.send(me, "a")
  t.eq({ t.receive(a, "a listened message without payload values") }, { nil, true }, "listen channel receive of it")

  local child = t.check("spawn the counter", process.spawn("counter", HOST, me, 1))
  local from_child = t.receive(inbox, "the counter's message")
  t.eq(from_child:from(), child, "msg:from() of a message from a child")
end

local function unlisten_sends_later_messages_of_the_topic_to_the_inbox()
  local me = process.pid()
  local a = process.listen("a")
  local inbox = process.inbox()
  process.send(me, "a", "listened")
  t.eq(t.receive(a, "while listening"), "listened", "payload while listening")
  process.unlisten(a)
  process.send(me, "a", "unlistened")
  local msg = t.receive(inbox, "after unlisten")
  t.eq({ msg:topic(), msg:payload():data() }, { "a", "unlistened" }, "the inbox gets the topic after unlisten")
  local again = process.listen("a")
  process.send(me, "a", "listened again")
  t.eq(t.receive(again, "after listening again"), "listened again", "a new listen channel gets the topic")
end

local function unlisten_takes_only_a_channel_that_listens_now()
  local me = process.pid()
  local a, b = process.listen("a"), process.listen("b")
  local expected = "process.unlisten expects a channel returned by process.listen"
  t.raises(function() process.unlisten(process.inbox()) end, expected, "the inbox")
  t.raises(function() process.unlisten(channel.new()) end, expected, "a channel of its own")
  t.raises(function() process.unlisten("a") end, expected, "a topic")
  t.raises(function() process.unlisten(nil) end, expected, "nothing")
  process.unlisten(b)
  t.raises(function() process.unlisten(b) end, expected, "a channel unlistened already")
  -- Unlistening b left a as it was, and b's topic goes to the inbox.
  process.send(me, "b", "to the inbox")
  process.send(me, "a", "still listened")
  t.eq(t.receive(a, "a after b's unlisten"), "still listened", "the other listen channel")
  t.eq(t.receive(process.inbox(), "b after its unlisten"):payload():data(), "to the inbox", "the unlistened topic")
  local b2 = process.listen("b")
  t.ok(b2 ~= b, "listening again gives a new channel")
  process.unlisten(a)
  process.unlisten(b2)
end

local function payload_values_keep_their_types()
  local me = process.pid()
  local inbox = process.inbox()
  local sent = {
    int = 42, float = 1.5, neg = -7, big = math.maxinteger, text = "héllo\0bytes", yes = true, no = false,
    list = { 1, 2, 3 }, nested = { a = { b = { c = "deep" } } }, empty = {},
  }
  process.send(me, "v", sent)
  local got = t.receive(inbox, "the message"):payload():data()
  t.eq(got, sent, "payload after the round trip")
  t.eq(math.type(got.int), "integer", "an integer stays an integer")
  t.eq(math.type(got.float), "float", "a float stays a float")
end

return {
  collector = collector,
  counter = counter,
  late_opener = late_opener,
  five_messages_from_one_sender_arrive_in_order = five_messages_from_one_sender_arrive_in_order,
  five_hundred_messages_keep_their_order_across_retention_and_batches = five_hundred_messages_keep_their_order_across_retention_and_batches,
  listened_topic_goes_to_its_channel_and_others_to_the_inbox = listened_topic_goes_to_its_channel_and_others_to_the_inbox,
  messages_sent_before_listen_or_inbox_exist_are_kept = messages_sent_before_listen_or_inbox_exist_are_kept,
  inbox_events_and_listen_return_the_same_channel_each_call = inbox_events_and_listen_return_the_same_channel_each_call,
  listen_with_the_message_option_yields_message_objects = listen_with_the_message_option_yields_message_objects,
  message_knows_its_topic_sender_and_payload_values = message_knows_its_topic_sender_and_payload_values,
  unlisten_sends_later_messages_of_the_topic_to_the_inbox = unlisten_sends_later_messages_of_the_topic_to_the_inbox,
  unlisten_takes_only_a_channel_that_listens_now = unlisten_takes_only_a_channel_that_listens_now,
  payload_values_keep_their_types = payload_values_keep_their_types,
}
