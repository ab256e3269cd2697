-- process.upgrade: new code in the same process (PID, mailbox, links and names are kept).
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Version 1: waits for one message, reports, then upgrades to version 2 with its state.
local function version_1(parent)
  local msg = process.inbox():receive()
  process.send(parent, "v1", { pid = process.pid(), id = process.id(), topic = msg:topic() })
  local ok, err = process.upgrade("version_2", parent, "state from v1")
  error("process.upgrade returned: " .. tostring(ok) .. ", " .. tostring(err))
end

--- Version 2: reports, reports the next message, then fails on the one after.
local function version_2(parent, state)
  process.send(parent, "v2", { pid = process.pid(), id = process.id(), state = state })
  local inbox = process.inbox()
  local msg = inbox:receive()
  process.send(parent, "v2 message", { topic = msg:topic(), data = msg:payload():data() })
  local stop = inbox:receive()
  error(errors.new({ message = "v2 " .. stop:topic(), kind = errors.CONFLICT }))
end

--- Receives the first of two EXIT events, then upgrades; version 2 must get the second.
local function events_version_1(parent)
  local events = process.events()
  local a = process.spawn_monitored("upgrades_to_nowhere", "lua_api:processes")
  local b = process.spawn_monitored("upgrades_to_nowhere", "lua_api:processes")
  time.sleep("20ms") -- both EXIT events are queued before the first receive
  local first = events:receive()
  process.upgrade("events_version_2", parent, first.from == a and b or a)
end

local function events_version_2(parent, expected)
  local events = process.events()
  -- Long enough for an EXIT that a loaded machine delivered only after the upgrade.
  local ready = channel.select({ events:case_receive(), time.after("10s"):case_receive() })
  if ready.channel ~= events then
    process.send(parent, "events v2", { expected = expected, received = "nothing within 10s" })
  else
    process.send(parent, "events v2", { expected = expected, received = ready.value.kind, from = ready.value.from })
  end
end

--- Upgrades itself (entry nil: its own entry) until `n` reaches 3.
local function restarts(n, first_pid)
  first_pid = first_pid or process.pid()
  if n < 3 then process.upgrade(nil, n + 1, first_pid) end
  return { n = n, same_pid = first_pid == process.pid() }
end

local function upgrades_to_nowhere()
  local ok, err = process.upgrade("no_such_entry") -- luact:ignore
  return { ok = ok, err = err }
end

-- Tests -------------------------------------------------------------------------------------

--- Spawns version 1 with `spawn`, calls `before(child)`, sends "go" (and a message of topic
--- `also` right after it), and checks the reports of both versions.
local function start_upgrade(spawn, also, before)
  local me = process.pid()
  local v1, v2 = process.listen("v1"), process.listen("v2")
  local child = t.check("spawn", spawn("version_1", HOST, me))
  if before ~= nil then before(child) end
  process.send(child, "go")
  if also ~= nil then process.send(child, also, "sent before the upgrade") end
  t.eq(t.receive(v1, "version 1's report"), { pid = child, id = "lua_api.processes:version_1", topic = "go" }, "version 1")
  t.eq(t.receive(v2, "version 2's report"), { pid = child, id = "lua_api.processes:version_2", state = "state from v1" },
    "version 2: the same PID, the new entry, the arguments given to upgrade")
  return child
end

local function upgrade_keeps_the_pid_and_switches_code()
  local child = start_upgrade(process.spawn)
  local messages = process.listen("v2 message")
  t.eq(process.send(child, "hello", "to version 2"), true, "send to the same PID after the upgrade")
  t.eq(t.receive(messages, "version 2's answer"), { topic = "hello", data = "to version 2" }, "what version 2 received")
  process.terminate(child)
end

local function upgrade_keeps_messages_not_yet_received()
  local child = start_upgrade(process.spawn, "kept")
  local messages = process.listen("v2 message")
  t.eq(t.receive(messages, "version 2's answer to the message sent before the upgrade"),
    { topic = "kept", data = "sent before the upgrade" }, "what version 2 received")
  process.terminate(child)
end

local function upgrade_keeps_links_monitors_and_names()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local name = "lua_api.processes.upgrade." .. process.pid()
  local child = start_upgrade(process.spawn_linked_monitored, nil, function(child)
    t.check("register a name for the child", process.registry.register(name, child))
  end)
  t.silent(events, "20ms", "no EXIT or LINK_DOWN for the upgrade")
  t.eq(process.registry.lookup(name), child, "the name after the upgrade")
  local messages = process.listen("v2 message")
  t.eq(process.send(name, "by name", 1), true, "send by name after the upgrade")
  t.eq(t.receive(messages, "version 2's answer"), { topic = "by name", data = 1 }, "what version 2 received")
  process.send(name, "stop")
  local kinds = {}
  for i = 1, 2 do
    local event = t.receive(events, "event " .. i .. " after version 2 failed")
    t.eq(event.from, child, "event " .. i .. " is from the child")
    t.eq(event.result.error:message(), "v2 stop", "error of event " .. i)
    kinds[event.kind] = true
  end
  t.eq(kinds, { EXIT = true, LINK_DOWN = true }, "the link and the monitor after the upgrade")
end

local function upgrade_keeps_events_not_yet_received()
  local reports = process.listen("events v2")
  t.check("spawn", process.spawn("events_version_1", HOST, process.pid()))
  local report = t.receive(reports, "version 2's report", "15s")
  t.eq(report.received, "EXIT", "what version 2 received of the EXIT version 1 left unread")
  t.eq(report.from, report.expected, "the EXIT version 2 received is the one version 1 left unread")
end

local function upgrade_with_nil_restarts_the_own_entry()
  local value = t.check("exec", process.exec("restarts", HOST, 0))
  t.eq(value, { n = 3, same_pid = true }, "after three upgrades")
end

local function upgrade_to_an_unknown_entry_returns_an_error()
  local value = t.check("exec", process.exec("upgrades_to_nowhere", HOST))
  t.is_nil(value.ok, "upgrade's value")
  t.is_error(value.err, nil, "upgrade's error")
end

return {
  version_1 = version_1,
  version_2 = version_2,
  restarts = restarts,
  upgrades_to_nowhere = upgrades_to_nowhere,
  events_version_1 = events_version_1,
  events_version_2 = events_version_2,
  upgrade_keeps_the_pid_and_switches_code = upgrade_keeps_the_pid_and_switches_code,
  upgrade_keeps_messages_not_yet_received = upgrade_keeps_messages_not_yet_received,
  upgrade_keeps_links_monitors_and_names = upgrade_keeps_links_monitors_and_names,
  upgrade_keeps_events_not_yet_received = upgrade_keeps_events_not_yet_received,
  upgrade_with_nil_restarts_the_own_entry = upgrade_with_nil_restarts_the_own_entry,
  upgrade_to_an_unknown_entry_returns_an_error = upgrade_to_an_unknown_entry_returns_an_error,
}
