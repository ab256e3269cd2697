-- exec and spawners: process.with_context / with_options values with :with_name,
-- :with_message, :spawn* and :exec.
local t = require("t")
local time = require("time")
local ctx = require("ctx")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

local function double(x)
  if type(x) ~= "number" then
    return nil, errors.new({ message = "double needs a number", kind = errors.INVALID, details = { got = type(x) } })
  end
  return x * 2
end

local function naps(ms)
  time.sleep(ms * time.MILLISECOND)
  return ms
end

--- Says "ready" to `parent`, then returns "go" once the parent answers (or "no go" after 10 s).
local function waits_for_go(parent)
  local go = process.listen("go")
  process.send(parent, "ready", process.pid())
  local ready = channel.select({ go:case_receive(), time.after("10s"):case_receive() })
  return ready.channel == go and "go" or "no go"
end

local function reads_context()
  local user, err = ctx.get("user")
  local missing, missing_err = ctx.get("no_such_key")
  return {
    user = user,
    user_err = err ~= nil,
    all = ctx.all(),
    missing = missing,
    missing_err = missing_err ~= nil,
  }
end

local function reads_options()
  return process.get_options()
end

--- Reports the first three messages of its inbox (topic and payload) to `parent`.
local function reports_startup_messages(parent)
  local inbox = process.inbox()
  local got = {}
  for i = 1, 3 do
    local msg = inbox:receive()
    got[i] = { msg:topic(), msg:payload():data() }
  end
  process.send(parent, "startup", got)
end

-- Tests -------------------------------------------------------------------------------------

local function exec_returns_the_child_value()
  local value, err = process.exec("double", HOST, 21)
  t.is_nil(err, "exec error")
  t.eq(value, 42, "exec value")
end

local function exec_returns_the_child_error()
  local value, err = process.exec("double", HOST, "x")
  t.is_nil(value, "exec value")
  t.is_error(err, errors.INVALID, "exec error")
  t.eq(err:message(), "double needs a number", "message")
  t.eq(err:details(), { got = "string" }, "details")
end

local function exec_blocks_only_the_calling_coroutine()
  -- The child ends only once another coroutine of this process answered it: that coroutine
  -- must run while exec waits (shown by what happens, not by counting timer ticks).
  coroutine.spawn(function()
    local ready = t.receive(process.listen("ready"), "the child's ready", "10s")
    process.send(ready, "go", true)
  end)
  t.eq(process.exec("waits_for_go", HOST, process.pid()), "go", "exec value")
  local t0 = time.now()
  t.eq(process.exec("naps", HOST, 60), 60, "exec value")
  t.ge(t.ms_since(t0), 55, "exec waited for the child")
end

local function with_context_passes_values_to_a_spawned_process()
  local events = process.events()
  local spawner = process.with_context({ user = "ada", level = 3 })
  local child = t.check("spawn_monitored", spawner:spawn_monitored("reads_context", HOST))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  t.eq(exit.result.value, {
    user = "ada", user_err = false, all = { user = "ada", level = 3 }, missing_err = true,
  }, "what the child read with ctx.get and ctx.all")
  local direct = t.check("exec", spawner:exec("reads_context", HOST))
  t.eq(direct.all, { user = "ada", level = 3 }, "ctx.all() of an exec'd child")
end

local function spawners_are_immutable()
  local base = process.with_context({ a = 1 })
  local derived = base:with_context({ b = 2 })
  local overridden = derived:with_context({ a = 10 })
  t.ok(base ~= derived, "with_context returns a new spawner")
  t.eq(t.check("exec", base:exec("reads_context", HOST)).all, { a = 1 }, "context of the base spawner")
  t.eq(t.check("exec", derived:exec("reads_context", HOST)).all, { a = 1, b = 2 }, "context of the derived spawner")
  t.eq(t.check("exec", overridden:exec("reads_context", HOST)).all, { a = 10, b = 2 }, "context of the overriding spawner")
  local named = base:with_name("lua_api.processes.immutable." .. process.pid())
  local with_message = base:with_message("hello", 1)
  t.ok(named ~= base and with_message ~= base, "with_name and with_message return new spawners")
  t.eq(t.check("exec", base:exec("reads_context", HOST)).all, { a = 1 }, "the base spawner after deriving from it")
  t.eq(t.check("exec", process.exec("reads_context", HOST)).all, {}, "plain process.exec has no context")
end

local function with_name_and_with_message_startup_messages_arrive_before_later_ones()
  local me = process.pid()
  local name = "lua_api.processes.startup." .. me
  local reports = process.listen("startup")
  local events = process.events()
  local child = t.check("spawn", process
    .with_context({})
    :with_name(name)
    :with_message("first", 1)
    :with_message("second", "two", 2)
    :spawn_monitored("reports_startup_messages", HOST, me))
  t.eq(process.registry.lookup(name), child, "the name is registered when spawn returns")
  t.eq(process.send(name, "later", 3), true, "send by name right after spawn")
  t.eq(t.receive(reports, "the child's report"), {
    { "first", 1 }, { "second", "two", 2 }, { "later", 3 },
  }, "messages in the order the child received them")
  t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.fails("lookup of the with_name name after the child ended", process.registry.lookup(name))
end

local function spawner_methods_spawn_linked_and_monitored()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local spawner = process.with_options({}):with_context({ user = "ada" })
  local linked = t.check("spawner:spawn_linked", spawner:spawn_linked("double", HOST, "not a number"))
  t.event(events, process.event.LINK_DOWN, linked, "LINK_DOWN of spawner:spawn_linked")
  local both = t.check("spawner:spawn_linked_monitored", spawner:spawn_linked_monitored("double", HOST, "nan"))
  local kinds = {}
  for i = 1, 2 do
    local event = t.receive(events, "event " .. i .. " of spawner:spawn_linked_monitored")
    t.eq(event.from, both, "event " .. i .. " is from the child")
    kinds[event.kind] = true
  end
  t.eq(kinds, { EXIT = true, LINK_DOWN = true }, "events of spawner:spawn_linked_monitored")
  local plain = t.check("spawner:spawn", spawner:spawn("double", HOST, 1))
  t.ok(type(plain) == "string", "spawner:spawn returns a PID")
  t.silent(events, "20ms", "no event for a plain spawn")
  local value = t.check("spawner:with_options", spawner:with_options({ trap_links = true }):exec("reads_options", HOST))
  t.eq(value.trap_links, true, "trap_links of a child spawned through spawner:with_options")
end

local function with_name_of_a_taken_name_fails_the_spawn()
  local name = "lua_api.processes.taken." .. process.pid()
  t.check("register", process.registry.register(name))
  local err = t.fails("spawn with a taken name", process.with_options({}):with_name(name):spawn("double", HOST, 1))
  t.is_error(err, errors.ALREADY_EXISTS, "its error")
end

return {
  double = double,
  naps = naps,
  waits_for_go = waits_for_go,
  reads_context = reads_context,
  reads_options = reads_options,
  reports_startup_messages = reports_startup_messages,
  exec_returns_the_child_value = exec_returns_the_child_value,
  exec_returns_the_child_error = exec_returns_the_child_error,
  exec_blocks_only_the_calling_coroutine = exec_blocks_only_the_calling_coroutine,
  with_context_passes_values_to_a_spawned_process = with_context_passes_values_to_a_spawned_process,
  spawners_are_immutable = spawners_are_immutable,
  with_name_and_with_message_startup_messages_arrive_before_later_ones = with_name_and_with_message_startup_messages_arrive_before_later_ones,
  spawner_methods_spawn_linked_and_monitored = spawner_methods_spawn_linked_and_monitored,
  with_name_of_a_taken_name_fails_the_spawn = with_name_of_a_taken_name_fails_the_spawn,
}
