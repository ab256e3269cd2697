-- Several fibers of one process waiting in its inbox: each message goes to one of them, none is
-- left waiting while mail it could take is queued, and none is lost when the process upgrades
-- before a fiber that was woken for a message runs.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Starts a fiber that waits in the inbox (with a receive, or a select when `older` is
--- "select") and runs `then_(first message)`; waits in the inbox itself after it, then sends
--- itself two messages from a third fiber, and reports what the main fiber received. The main
--- fiber returns (which ends the process, and every fiber of it) only once the older fiber is
--- done: preempted before it reported, it would never report.
local function two_receivers(parent, older, then_)
  local inbox, me, older_done = process.inbox(), process.pid(), channel.new(1)
  coroutine.spawn(function()
    local msg
    if older == "select" then
      msg = channel.select({ inbox:case_receive(), channel.new():case_receive() }).value
    else
      msg = inbox:receive()
    end
    then_(msg:payload():data())
    older_done:send(true)
  end)
  time.sleep("5ms") -- the spawned fiber waits first
  coroutine.spawn(function()
    process.send(me, "m", 1)
    process.send(me, "m", 2)
  end)
  local msg = inbox:receive()
  process.send(parent, "got", { fiber = "main", data = msg:payload():data() })
  older_done:receive()
end

--- Both fibers report what they received.
local function shares_its_inbox(parent, older)
  two_receivers(parent, older, function(data)
    process.send(parent, "got", { fiber = "older", data = data })
  end)
end

--- The older fiber upgrades the process as soon as it has received the first message: the main
--- fiber, woken for the second, never runs again, and the new code must receive that message.
local function upgrades_with_a_receiver_woken(parent, older)
  two_receivers(parent, older, function(data)
    process.upgrade("receives_after_the_upgrade", parent, data)
  end)
end

local function receives_after_the_upgrade(parent, first)
  local inbox = process.inbox()
  local ready = channel.select({ inbox:case_receive(), time.after("2s"):case_receive() })
  local second = ready.channel == inbox and ready.value:payload():data() or "nothing within 2s"
  process.send(parent, "got", { fiber = "upgraded", data = { first, second } })
end

--- Two fibers wait for events: each reports whose EXIT it received. The main fiber returns
--- (ending the process) once the others are done: a child on another node may end, and its
--- EXIT arrive, before the spawn that started it has returned in the spawning fiber.
local function shares_its_events(parent)
  local events, others_done = process.events(), channel.new(2)
  local function report(fiber) process.send(parent, "got", { fiber = fiber, data = events:receive().from }) end
  coroutine.spawn(function()
    report("older")
    others_done:send(true)
  end)
  time.sleep("5ms") -- the spawned fiber waits first
  coroutine.spawn(function()
    process.send(parent, "children", {
      process.spawn_monitored("ends_for_a_monitor", HOST),
      process.spawn_monitored("ends_for_a_monitor", HOST),
    })
    others_done:send(true)
  end)
  report("main")
  for _ = 1, 2 do others_done:receive() end
end

local function ends_for_a_monitor() end

--- The older fiber waits in a select on the inbox and another case (`how`: a channel that is
--- sent to, or closed; or its events, which get a CANCEL), a second fiber in a receive. One
--- message comes, and the select's other case fires too: the select ends that other way, and
--- the receiver must be woken for the message all the same.
local function select_ends_another_way(parent, how)
  local inbox, me, other = process.inbox(), process.pid(), channel.new()
  coroutine.spawn(function()
    if how == "events" then
      channel.select({ process.events():case_receive(), inbox:case_receive() })
    else
      channel.select({ inbox:case_receive(), other:case_receive() })
    end
  end)
  time.sleep("5ms")
  coroutine.spawn(function()
    process.send(parent, "got", { fiber = "receiver", data = inbox:receive():payload():data() })
  end)
  time.sleep("5ms")
  if how == "events" then process.cancel(me, "an event for the select") end
  process.send(me, "m", 1)
  if how == "sent to" then other:send("x") elseif how == "closed" then other:close() end
  time.sleep("10s") -- lives until the test has its report
end

--- Two fibers wait in the inbox (the older in a select), and mail too large to come directly
--- arrives: each must get one, though the first to run pulls only one from TypeScript. The
--- main fiber returns (ending the process) once the older has reported.
local function two_receivers_of_large_mail(parent)
  local inbox, older_done = process.inbox(), channel.new(1)
  coroutine.spawn(function()
    local ready = channel.select({ inbox:case_receive(), time.after("10s"):case_receive() })
    process.send(parent, "got", { fiber = "older", data = ready.channel == inbox and #ready.value:payload():data() })
    older_done:send(true)
  end)
  time.sleep("5ms")
  process.send(parent, "waiting", true)
  process.send(parent, "got", { fiber = "main", data = #inbox:receive():payload():data() })
  older_done:receive()
end

-- Tests -------------------------------------------------------------------------------------

local function two_fibers_waiting_in_one_inbox_get_one_message_each()
  local reports = process.listen("got")
  for _, older in ipairs({ "receive", "select" }) do
    t.check("spawn", process.spawn("shares_its_inbox", HOST, process.pid(), older))
    local got = {}
    for i = 1, 2 do
      local report = t.receive(reports, "the older fiber in a " .. older .. ": report " .. i, "5s")
      got[report.fiber] = report.data
    end
    t.eq(got, { older = 1, main = 2 }, "what each fiber received, the older waiting in a " .. older)
  end
end

local function a_message_another_fiber_was_woken_for_survives_an_upgrade()
  local reports = process.listen("got")
  for _, older in ipairs({ "receive", "select" }) do
    t.check("spawn", process.spawn("upgrades_with_a_receiver_woken", HOST, process.pid(), older))
    local report = t.receive(reports, "the new code's report, the older fiber in a " .. older, "10s")
    t.eq(report, { fiber = "upgraded", data = { 1, 2 } },
      "the new code receives the message the main fiber was woken for (older fiber in a " .. older .. ")")
  end
end

local function two_fibers_waiting_for_events_get_one_each()
  local reports, children = process.listen("got"), process.listen("children")
  t.check("spawn", process.spawn("shares_its_events", HOST, process.pid()))
  local pids = t.receive(children, "the children's PIDs")
  local got = {}
  for i = 1, 2 do
    local report = t.receive(reports, "report " .. i, "5s")
    got[report.fiber] = report.data
  end
  t.ok(got.older ~= nil and got.main ~= nil, "both fibers received an event: " .. t.show(got))
  t.eq({ [got.older] = true, [got.main] = true }, { [pids[1]] = true, [pids[2]] = true },
    "one EXIT each, of the two children")
end

local function a_receiver_behind_a_select_that_ended_another_way_gets_the_message()
  local reports = process.listen("got")
  for _, how in ipairs({ "sent to", "closed", "events" }) do
    local child = t.check("spawn", process.spawn("select_ends_another_way", HOST, process.pid(), how))
    local report = t.receive(reports, "the receiver's report, the select's other case " .. how, "5s")
    t.eq(report, { fiber = "receiver", data = 1 }, "what the receiver got, the select's other case " .. how)
    process.terminate(child)
  end
end

local function two_receivers_each_get_one_of_two_large_messages()
  local reports, waiting = process.listen("got"), process.listen("waiting")
  for round = 1, 3 do
    local child = t.check("spawn", process.spawn("two_receivers_of_large_mail", HOST, process.pid()))
    t.receive(waiting, "round " .. round .. ": both fibers waiting")
    time.sleep("20ms")
    for _, fill in ipairs({ "a", "b" }) do t.check("send", process.send(child, "m", string.rep(fill, 70000))) end
    local got = {}
    for i = 1, 2 do
      local report = t.receive(reports, "round " .. round .. ": report " .. i, "5s")
      got[report.fiber] = report.data
    end
    t.eq(got, { older = 70000, main = 70000 }, "round " .. round .. ": what each fiber received")
  end
end

return {
  select_ends_another_way = select_ends_another_way,
  two_receivers_of_large_mail = two_receivers_of_large_mail,
  a_receiver_behind_a_select_that_ended_another_way_gets_the_message = a_receiver_behind_a_select_that_ended_another_way_gets_the_message,
  two_receivers_each_get_one_of_two_large_messages = two_receivers_each_get_one_of_two_large_messages,
  shares_its_events = shares_its_events,
  ends_for_a_monitor = ends_for_a_monitor,
  two_fibers_waiting_for_events_get_one_each = two_fibers_waiting_for_events_get_one_each,
  shares_its_inbox = shares_its_inbox,
  upgrades_with_a_receiver_woken = upgrades_with_a_receiver_woken,
  receives_after_the_upgrade = receives_after_the_upgrade,
  two_fibers_waiting_in_one_inbox_get_one_message_each = two_fibers_waiting_in_one_inbox_get_one_message_each,
  a_message_another_fiber_was_woken_for_survives_an_upgrade = a_message_another_fiber_was_woken_for_survives_an_upgrade,
}
