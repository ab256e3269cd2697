-- Several fibers of one process waiting in its inbox: each message goes to one of them, none is
-- left waiting while mail it could take is queued, and none is lost when the process upgrades
-- before a fiber that was woken for a message runs.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Starts a fiber that waits in the inbox (with a receive, or a select when `older` is
--- "select") and runs `then_(first message)`; waits in the inbox itself after it, then sends
--- itself two messages from a third fiber, and reports what the main fiber received.
local function two_receivers(parent, older, then_)
  local inbox, me = process.inbox(), process.pid()
  coroutine.spawn(function()
    local msg
    if older == "select" then
      msg = channel.select({ inbox:case_receive(), channel.new():case_receive() }).value
    else
      msg = inbox:receive()
    end
    then_(msg:payload():data())
  end)
  time.sleep("5ms") -- the spawned fiber waits first
  coroutine.spawn(function()
    process.send(me, "m", 1)
    process.send(me, "m", 2)
  end)
  local msg = inbox:receive()
  process.send(parent, "got", { fiber = "main", data = msg:payload():data() })
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

--- Two fibers wait for events: each reports whose EXIT it received.
local function shares_its_events(parent)
  local events = process.events()
  local function report(fiber) process.send(parent, "got", { fiber = fiber, data = events:receive().from }) end
  coroutine.spawn(report, "older")
  time.sleep("5ms") -- the spawned fiber waits first
  coroutine.spawn(function()
    process.send(parent, "children", {
      process.spawn_monitored("ends_for_a_monitor", HOST),
      process.spawn_monitored("ends_for_a_monitor", HOST),
    })
  end)
  report("main")
end

local function ends_for_a_monitor() end

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
    local report = t.receive(reports, "the new code's report, the older fiber in a " .. older, "5s")
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

return {
  shares_its_events = shares_its_events,
  ends_for_a_monitor = ends_for_a_monitor,
  two_fibers_waiting_for_events_get_one_each = two_fibers_waiting_for_events_get_one_each,
  shares_its_inbox = shares_its_inbox,
  upgrades_with_a_receiver_woken = upgrades_with_a_receiver_woken,
  receives_after_the_upgrade = receives_after_the_upgrade,
  two_fibers_waiting_in_one_inbox_get_one_message_each = two_fibers_waiting_in_one_inbox_get_one_message_each,
  a_message_another_fiber_was_woken_for_survives_an_upgrade = a_message_another_fiber_was_woken_for_survives_an_upgrade,
}
