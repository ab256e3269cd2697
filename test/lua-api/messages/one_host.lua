-- Mail between processes of one host: it goes from engine to engine without TypeScript while
-- the receiver holds little, through the host past that, and both ways keep one order per
-- sender, copy what is sent, and keep the host's limits and errors.
local t = require("t")
local time = require("time")

local HOST = "lua_api.messages:small_host" -- max_mailbox 10, max_message_size 1 KiB
local ROOMY_HOST = "lua_api:processes" -- max_mailbox 10000
local TIGHT_HOST = "lua_api.messages:tight_host" -- max_process_memory 4 MiB

-- Child processes (on the small host) -------------------------------------------------------

--- Sends itself 1..10 (half of them past half the mailbox limit, some by a registered name),
--- then one more than the limit allows, and reports what it received and what the last send
--- answered.
local function fills_its_own_mailbox(parent)
  local me = process.pid()
  t.check("register a name", process.registry.register("one_host_filler"))
  local inbox = process.inbox()
  local answers = {}
  for i = 1, 10 do
    local to = i % 3 == 0 and "one_host_filler" or me
    answers[i] = process.send(to, "n", i)
  end
  local ok, err = process.send(me, "n", 11)
  local got = {}
  for i = 1, 10 do got[i] = inbox:receive():payload():data() end
  process.send(parent, "report", {
    answers = answers,
    eleventh = { ok = ok, kind = err and err:kind() or nil, text = err and tostring(err) or nil },
    got = got,
  })
end

--- Receives until it has `count` messages, then reports their payloads.
local function receives(parent, count)
  local inbox = process.inbox()
  local got = {}
  for i = 1, count do got[i] = inbox:receive():payload():data() end
  process.send(parent, "report", got)
end

--- Sends 1..20 to a receiver on the same host that starts reading after the 20th.
local function floods_a_sibling(parent)
  local receiver = process.spawn("receives", HOST, parent, 20)
  local answers = {}
  for i = 1, 20 do
    local ok, err = process.send(receiver, "n", i)
    -- A full mailbox refuses: try again once the receiver made room.
    while not ok do
      if not errors.is(err, errors.RATE_LIMITED) then error(err) end
      time.sleep("1ms")
      ok, err = process.send(receiver, "n", i)
    end
    answers[i] = ok
  end
end

--- Reports what a send to a process of its own host that has ended answers.
local function sends_to_an_ended_sibling(parent)
  local child = process.spawn_monitored("ends_at_once", HOST)
  local events = process.events()
  local exit = events:receive()
  local ok, err = process.send(child, "n", 1)
  process.send(parent, "report", {
    exited = exit.from == child,
    ok = ok,
    kind = err and err:kind() or nil,
  })
end

--- Opens its inbox (mail to it can then go directly) and ends.
local function ends_at_once() process.inbox() end

--- Sends itself three messages on a listened topic, then upgrades; version 2 reports them.
local function upgrades_with_mail(parent)
  local me = process.pid()
  process.listen("a")
  process.inbox()
  for i = 1, 3 do process.send(me, "a", { i = i }) end
  process.send(me, "b", "last")
  process.upgrade("reports_its_inbox", parent, 4)
end

local function reports_its_inbox(parent, count)
  local inbox = process.inbox()
  local got = {}
  for i = 1, count do
    local msg = inbox:receive()
    got[i] = { msg:topic(), msg:payload():data() }
  end
  process.send(parent, "report", got)
end

--- Reports what a send of a payload over the host's message size answers.
local function sends_itself_too_much(parent)
  process.inbox()
  local ok, err = process.send(process.pid(), "big", string.rep("x", 2048))
  process.send(parent, "report", { ok = ok, kind = err and err:kind() or nil, text = tostring(err) })
end

--- Opens its inbox only on `go` (mail sent to it before waits in the host), receives `count`
--- messages, telling the sender when it has a quarter of them, and reports them to `parent`.
local function receives_late(parent, count)
  local sender = process.listen("go", { message = true }):receive():from()
  local inbox = process.inbox()
  local got = {}
  for i = 1, count do
    got[i] = inbox:receive():payload():data()
    if i == count // 4 then process.send(sender, "half") end
  end
  process.send(parent, "report", got)
end

--- Sends 1..600 to a sibling that has not opened its inbox (the host holds them: more than
--- one batch of what it hands over at once, 256), then 601..1200 once it has taken a quarter.
local function sends_a_backlog(parent)
  local half = process.listen("half")
  local receiver = process.spawn("receives_late", ROOMY_HOST, parent, 1200)
  for i = 1, 600 do assert(process.send(receiver, "n", i)) end
  assert(process.send(receiver, "go"))
  half:receive()
  for i = 601, 1200 do assert(process.send(receiver, "n", i)) end
end

--- Two of its fibers wait on its inbox; each reports the one message it receives.
local function receives_on_two_fibers(parent)
  local inbox, done = process.inbox(), channel.new(1)
  coroutine.spawn(function()
    process.send(parent, "got", inbox:receive():payload():data())
    done:send(true)
  end)
  process.send(parent, "ready")
  process.send(parent, "got", inbox:receive():payload():data())
  done:receive() -- the process ends with its main fiber
end

--- Opens its inbox on `go` (the host holds what was sent to it before), then receives `count`
--- messages and reports their lengths.
local function receives_big_late(parent, count)
  process.listen("go"):receive()
  local inbox = process.inbox()
  local lengths = {}
  for i = 1, count do lengths[i] = #inbox:receive():payload():data() end
  process.send(parent, "report", lengths)
end

-- Tests -------------------------------------------------------------------------------------

--- The report of `entry`, spawned on the small host; a child that fails first fails the test
--- with its error (not with a wait for a report that never comes).
local function report_of(entry, ...)
  local reports, events = process.listen("report"), process.events()
  local child = t.check("spawn " .. entry, process.spawn_monitored(entry, HOST, process.pid(), ...))
  local ready = channel.select({
    reports:case_receive(),
    events:case_receive(),
    time.after("15s"):case_receive(),
  })
  if ready.channel == reports then return ready.value end
  if ready.channel == events then
    local event = ready.value
    if event.kind == process.event.EXIT and event.from == child and event.result.error then
      t.fail(entry .. "'s report", "it failed first: " .. tostring(event.result.error))
    end
    return t.receive(reports, entry .. "'s report", "15s")
  end
  t.fail(entry .. "'s report", "nothing arrived within 15s")
end

local function mail_within_one_host_keeps_its_order_and_the_mailbox_limit()
  local report = report_of("fills_its_own_mailbox")
  t.eq(report.answers, { true, true, true, true, true, true, true, true, true, true }, "sends within the limit")
  t.eq(report.eleventh.kind, errors.RATE_LIMITED, "a send past max_mailbox")
  t.contains(report.eleventh.text, "max_mailbox", "the refusal names the limit")
  t.eq(report.got, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, "order of direct sends, sends by name and sends through the host")
end

--- Spawns `entry` on `host` with this process's PID, and checks that the receiver it sends to
--- reports it got 1 to `count`, in order.
local function reported_in_order(what, entry, host, count)
  local reports = process.listen("report")
  t.check("spawn the " .. what, process.spawn(entry, host, process.pid()))
  local got = t.receive(reports, "the receiver's report", "5s")
  local expected = {}
  for i = 1, count do expected[i] = i end
  t.eq(got, expected, "what the receiver got")
end

local function a_flood_within_one_host_is_refused_then_delivered_in_order()
  reported_in_order("flooder", "floods_a_sibling", HOST, 20)
end

local function a_backlog_held_by_the_host_and_direct_mail_arrive_in_order()
  reported_in_order("sender", "sends_a_backlog", ROOMY_HOST, 1200)
end

local function mail_the_host_held_reaches_every_fiber_waiting_for_it()
  local ready, got = process.listen("ready"), process.listen("got")
  local child = process.spawn("receives_on_two_fibers", ROOMY_HOST, process.pid())
  t.check("spawn", child)
  t.receive(ready, "ready")
  time.sleep("50ms") -- both fibers wait by now
  -- From another host: the child's host holds both, and one fiber takes them over.
  t.check("first", process.send(child, "n", 1))
  t.check("second", process.send(child, "n", 2))
  local a = t.receive(got, "one fiber's message", "5s")
  local b = t.receive(got, "the other fiber's message", "5s")
  t.eq(a + b, 3, "both messages, one to each fiber")
end

local function a_backlog_of_big_messages_is_taken_over_a_little_at_a_time()
  local reports = process.listen("report")
  -- 8 × 768 KiB waiting in the host, for a process that may hold 4 MiB.
  local child = process.spawn("receives_big_late", TIGHT_HOST, process.pid(), 8)
  t.check("spawn", child)
  local big = string.rep("x", 768 * 1024)
  for i = 1, 8 do t.check("send " .. i, process.send(child, "n", big)) end
  t.check("go", process.send(child, "go"))
  local expected = {}
  for i = 1, 8 do expected[i] = #big end
  t.eq(t.receive(reports, "the lengths", "10s"), expected, "every message, none refused for memory")
end

local function a_table_sent_within_one_host_is_a_copy()
  local me = process.pid()
  local inbox = process.inbox()
  local sent = { n = 1, list = { 1, 2 }, nested = { deep = { "x" } } }
  process.send(me, "v", sent)
  sent.n, sent.list[1], sent.nested.deep[1] = 2, 99, "changed"
  local got = t.receive(inbox, "the message"):payload():data()
  t.eq(got, { n = 1, list = { 1, 2 }, nested = { deep = { "x" } } }, "the receiver's copy, after the sender changed its table")
  got.n = 3
  t.eq(sent.n, 2, "the sender's table, after the receiver changed its copy")

  -- One value handed over as it is keeps its type.
  process.send(me, "v", 1.0)
  t.eq(math.type(t.receive(inbox, "a float"):payload():data()), "float", "a float stays a float")
  process.send(me, "v", math.mininteger)
  t.eq(t.receive(inbox, "an integer"):payload():data(), math.mininteger, "an integer")
  local a = process.listen("a")
  process.send(me, "a", "text", "more")
  t.eq({ t.receive(a, "two values on a listened topic") }, { "text", true }, "a listen channel yields the first value")
  process.send(me, "a", false)
  t.eq({ t.receive(a, "false") }, { false, true }, "false on a listened topic")
end

local function a_send_to_an_ended_process_of_the_same_host_is_not_found()
  local report = report_of("sends_to_an_ended_sibling")
  t.eq(report, { exited = true, kind = errors.NOT_FOUND }, "the send after its EXIT")
end

local function upgrade_keeps_mail_sent_within_the_host()
  local report = report_of("upgrades_with_mail")
  t.eq(report, { { "b", "last" }, { "a", { i = 1 } }, { "a", { i = 2 } }, { "a", { i = 3 } } },
    "the new code's inbox: the inbox's mail first, then the listened topic's (unlisted by the upgrade)")
end

local function a_message_over_the_host_message_size_is_invalid_within_one_host()
  local report = report_of("sends_itself_too_much")
  t.eq(report.kind, errors.INVALID, "a send over max_message_size")
  t.contains(report.text, "1024 bytes", "the error names the limit")
end

local function an_inbox_is_not_sent_to_with_channel_send()
  local inbox = process.inbox()
  t.raises(function() inbox:send(1) end, "use process.send", "inbox:send")
  local a = process.listen("a")
  t.raises(function() channel.select({ a:case_send(1), default = true }) end, "use process.send", "a send case on a listen channel")
end

return {
  fills_its_own_mailbox = fills_its_own_mailbox,
  receives = receives,
  receives_late = receives_late,
  sends_a_backlog = sends_a_backlog,
  receives_on_two_fibers = receives_on_two_fibers,
  receives_big_late = receives_big_late,
  a_backlog_of_big_messages_is_taken_over_a_little_at_a_time = a_backlog_of_big_messages_is_taken_over_a_little_at_a_time,
  mail_the_host_held_reaches_every_fiber_waiting_for_it = mail_the_host_held_reaches_every_fiber_waiting_for_it,
  a_backlog_held_by_the_host_and_direct_mail_arrive_in_order = a_backlog_held_by_the_host_and_direct_mail_arrive_in_order,
  floods_a_sibling = floods_a_sibling,
  sends_to_an_ended_sibling = sends_to_an_ended_sibling,
  ends_at_once = ends_at_once,
  upgrades_with_mail = upgrades_with_mail,
  reports_its_inbox = reports_its_inbox,
  sends_itself_too_much = sends_itself_too_much,
  mail_within_one_host_keeps_its_order_and_the_mailbox_limit = mail_within_one_host_keeps_its_order_and_the_mailbox_limit,
  a_flood_within_one_host_is_refused_then_delivered_in_order = a_flood_within_one_host_is_refused_then_delivered_in_order,
  a_table_sent_within_one_host_is_a_copy = a_table_sent_within_one_host_is_a_copy,
  a_send_to_an_ended_process_of_the_same_host_is_not_found = a_send_to_an_ended_process_of_the_same_host_is_not_found,
  upgrade_keeps_mail_sent_within_the_host = upgrade_keeps_mail_sent_within_the_host,
  a_message_over_the_host_message_size_is_invalid_within_one_host = a_message_over_the_host_message_size_is_invalid_within_one_host,
  an_inbox_is_not_sent_to_with_channel_send = an_inbox_is_not_sent_to_with_channel_send,
}
