-- process.registry: register, lookup, unregister; names end with their process.
local t = require("t")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Registers `name`, tells `parent`, and returns when a "stop" message arrives.
local function holds_a_name(parent, name)
  t.check("register " .. name, process.registry.register(name))
  process.send(parent, "registered", name)
  process.listen("stop"):receive()
  return name
end

local function waits_for_cancel()
  return process.events():receive().reason
end

local function waits_for_stop()
  process.listen("stop"):receive()
end

-- Tests -------------------------------------------------------------------------------------

local function unique(label)
  return "lua_api.processes." .. label .. "." .. process.pid()
end

local function registered_name_is_released_when_its_owner_ends()
  local name = unique("released")
  local events = process.events()
  local registered = process.listen("registered")
  local holder = t.check("spawn", process.spawn_monitored("holds_a_name", HOST, process.pid(), name))
  t.receive(registered, "the holder's registration")
  t.eq(process.registry.lookup(name), holder, "lookup while the holder runs")
  t.eq(process.send(name, "stop"), true, "send by name")
  t.event(events, process.event.EXIT, holder, "the holder's EXIT")
  local err = t.fails("lookup after the holder ended", process.registry.lookup(name))
  t.is_error(err, errors.NOT_FOUND, "its error")
  t.fails("send to the released name", process.send(name, "x"))
  t.eq(process.registry.register(name), true, "the released name can be registered again")
  t.eq(process.registry.lookup(name), process.pid(), "lookup after registering it again")
end

local function registering_a_taken_name_is_already_exists()
  local name = unique("taken")
  local registered = process.listen("registered")
  local holder = t.check("spawn", process.spawn("holds_a_name", HOST, process.pid(), name))
  t.receive(registered, "the holder's registration")
  local err = t.fails("register a taken name", process.registry.register(name))
  t.is_error(err, errors.ALREADY_EXISTS, "its error")
  t.eq(process.registry.lookup(name), holder, "the name still belongs to its first owner")
  process.send(holder, "stop")
end

local function wippy_cluster_scopes_register_names()
  local R = process.registry
  for _, scope in ipairs({ "EVENTUAL", "CONSISTENT", "STRONG" }) do
    t.eq(R[scope], R.CLUSTER, scope .. " is the cluster scope")
    local name = unique(scope)
    t.eq(R.register(name, nil, R[scope]), true, "register in scope " .. scope)
    t.eq(R.lookup(name), process.pid(), "lookup of the name registered in " .. scope)
    t.eq(R.unregister(name, R[scope]), true, "unregister in scope " .. scope)
  end
end

local function lookup_and_unregister()
  local name = unique("own")
  t.eq(process.registry.register(name), true, "register returns true")
  t.eq(process.registry.lookup(name), process.pid(), "lookup returns the owner's PID")
  t.eq(process.registry.unregister(name), true, "unregister returns true")
  t.is_error(t.fails("lookup after unregister", process.registry.lookup(name)), errors.NOT_FOUND, "its error")
  local again, why = process.registry.unregister(name)
  t.eq(again, false, "unregister of a name nobody holds returns false")
  t.is_error(why, errors.NOT_FOUND, "and says why")
  t.fails("lookup of a name never registered", process.registry.lookup(unique("never")))
end

local function names_are_destinations_for_monitor_cancel_and_terminate()
  local events = process.events()
  local cancelled = t.check("spawn", process.spawn("waits_for_cancel", HOST))
  local name = unique("cancel")
  t.check("register", process.registry.register(name, cancelled))
  t.eq(process.monitor(name), true, "monitor by name")
  t.eq(process.cancel(name, "by name"), true, "cancel by name")
  local exit = t.event(events, process.event.EXIT, cancelled, "EXIT of the process monitored by name")
  t.eq(exit.result.value, "by name", "the CANCEL reason it saw")

  local doomed = t.check("spawn", process.spawn_monitored("waits_for_stop", HOST))
  local other = unique("terminate")
  t.check("register", process.registry.register(other, doomed))
  t.eq(process.terminate(other), true, "terminate by name")
  t.eq(t.event(events, process.event.EXIT, doomed, "EXIT after terminate by name").result.error:message(), "terminated",
    "its error")
end

local function register_can_name_another_process()
  local name = unique("other")
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("waits_for_stop", HOST))
  t.eq(process.registry.register(name, child), true, "register(name, pid) returns true")
  t.eq(process.registry.lookup(name), child, "lookup returns the child's PID")
  t.eq(process.send(name, "stop"), true, "send to the child by name")
  t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.fails("lookup after the named child ended", process.registry.lookup(name))
  t.fails("register a name for an ended process", process.registry.register(name, child))
end

return {
  holds_a_name = holds_a_name,
  waits_for_stop = waits_for_stop,
  waits_for_cancel = waits_for_cancel,
  registered_name_is_released_when_its_owner_ends = registered_name_is_released_when_its_owner_ends,
  registering_a_taken_name_is_already_exists = registering_a_taken_name_is_already_exists,
  lookup_and_unregister = lookup_and_unregister,
  wippy_cluster_scopes_register_names = wippy_cluster_scopes_register_names,
  register_can_name_another_process = register_can_name_another_process,
  names_are_destinations_for_monitor_cancel_and_terminate = names_are_destinations_for_monitor_cancel_and_terminate,
}
