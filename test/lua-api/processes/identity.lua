-- Who a process is (process.pid, process.id), how its entry's method is called, options, print.
local t = require("t")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

local function identity(parent)
  local me = { pid = process.pid(), id = process.id() }
  if parent ~= nil then process.send(parent, "identity", me) end
  return me
end

local function echo_args(...)
  return table.pack(...)
end

local function terminates_itself()
  process.terminate(process.pid())
  return "not reached"
end

-- A termination is not an error a pcall or a coroutine hands back: nothing after it runs.
local function terminates_itself_inside_pcall(parent)
  pcall(process.terminate, process.pid())
  process.send(parent, "ran on", "after pcall")
end

local function terminates_itself_inside_a_coroutine(parent)
  coroutine.resume(coroutine.create(function() process.terminate(process.pid()) end))
  process.send(parent, "ran on", "after coroutine.resume")
end

local function terminates_itself_inside_a_coroutine_under_a_close_handler(parent)
  pcall(function()
    local guard <close> = setmetatable({}, { __close = function()
      process.send(parent, "ran on", "in a __close handler")
      error("not terminated", 0)
    end })
    coroutine.resume(coroutine.create(function() process.terminate(process.pid()) end))
  end)
  process.send(parent, "ran on", "after the pcall")
end

local function reports_options()
  return process.get_options()
end

-- Tests -------------------------------------------------------------------------------------

local function process_pid_and_id()
  local pid = process.pid()
  t.type(pid, "string", "process.pid()")
  t.match(pid, "^{[^|{}]+|%d+}$", "process.pid() has the form {host|id}")
  t.contains(pid, "|", "process.pid()")
  t.eq(process.pid(), pid, "process.pid() is stable")
  t.eq(process.id(), "lua_api.processes:process_pid_and_id", "process.id() is the entry ID")

  local reports = process.listen("identity")
  local child = t.check("spawn", process.spawn("identity", HOST, pid))
  local seen = t.receive(reports, "the child's identity")
  t.eq(seen, { pid = child, id = "lua_api.processes:identity" }, "the child's pid and id")
  t.contains(child, "lua_api:processes", "the child's PID names its host")
  t.ne(child, pid, "the child's PID")
end

local function spawn_passes_arguments_to_the_method()
  local value = t.check("exec", process.exec("echo_args", HOST, 1, "two", { three = 3 }, nil, true))
  t.eq(value.n, 5, "number of arguments, a nil among them")
  t.eq({ value[1], value[2], value[3], value[4], value[5] }, { 1, "two", { three = 3 }, nil, true }, "the arguments")
end

local function spawn_of_an_unknown_entry_or_host_returns_an_error()
  local ok, pid, err = pcall(process.spawn, "no_such_entry", HOST)
  t.ok(ok, "spawn of an unknown entry returns instead of raising (raised " .. t.show(pid) .. ")")
  t.is_error(t.fails("spawn an unknown entry", pid, err), errors.NOT_FOUND, "its error")
  t.fails("spawn on an unknown host", process.spawn("identity", "lua_api:no_such_host")) -- luact:ignore
  t.fails("exec an unknown entry", process.exec("no_such_entry", HOST)) -- luact:ignore
end

local function spawn_with_an_argument_that_cannot_cross_processes_returns_an_error()
  local ok, pid, err = pcall(process.spawn, "echo_args", HOST, function() end)
  t.ok(ok, "spawn with a function argument returns instead of raising (raised " .. t.show(pid) .. ")")
  t.fails("spawn with a function argument", pid, err)
end

local function a_process_can_terminate_itself()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("terminates_itself", HOST))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  t.is_nil(exit.result.value, "value")
  t.eq(t.is_error(exit.result.error, nil, "error"):message(), "terminated", "message")
  local value, err = process.exec("terminates_itself", HOST)
  t.is_nil(value, "exec value")
  t.eq(t.is_error(err, nil, "exec error"):message(), "terminated", "exec error message")
end

local function a_process_that_terminates_itself_inside_pcall_or_a_coroutine_ends_there()
  local ran_on = process.listen("ran on")
  for _, entry in ipairs({
    "terminates_itself_inside_pcall",
    "terminates_itself_inside_a_coroutine",
    "terminates_itself_inside_a_coroutine_under_a_close_handler",
  }) do
    local value, err = process.exec(entry, HOST, process.pid())
    t.is_nil(value, entry .. ": exec value")
    t.eq(t.is_error(err, nil, entry .. ": exec error"):message(), "terminated", entry .. ": exec error message")
  end
  t.silent(ran_on, "200ms", "a message sent after the termination")
end

local function entry_method_selects_the_function_to_run()
  t.eq(process.exec("two_functions_default", HOST), "main", "without method: main runs")
  t.eq(process.exec("two_functions_second", HOST), "second", "with method: second, second runs")
end

local function get_options_and_set_options()
  t.eq(process.get_options(), { trap_links = false }, "options at start")
  t.eq(process.set_options({ trap_links = true }), true, "set_options returns true")
  t.eq(process.get_options().trap_links, true, "trap_links after setting it")
  t.eq(process.set_options({ trap_links = false }), true, "set_options returns true")
  t.eq(process.get_options().trap_links, false, "trap_links after clearing it")
end

local function set_options_with_an_unknown_option_is_an_error()
  local ok, value, err = pcall(process.set_options, { no_such_option = true })
  t.ok(ok, "set_options with an unknown option returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("set_options{no_such_option = true}", value, err)
  t.eq(process.get_options().trap_links, false, "trap_links unchanged")
end

local function with_options_sets_trap_links_of_the_child()
  local on = t.check("exec", process.with_options({ trap_links = true }):exec("reports_options", HOST))
  t.eq(on.trap_links, true, "trap_links of a child spawned with_options{trap_links = true}")
  local off = t.check("exec", process.exec("reports_options", HOST))
  t.eq(off.trap_links, false, "trap_links of a child spawned without options")
  local bogus = process.with_options({ no_such_option = true })
  local ok, pid, err = pcall(bogus.spawn, bogus, "reports_options", HOST)
  t.ok(ok, "spawn with an unknown option returns instead of raising (raised " .. t.show(pid) .. ")")
  t.fails("spawn with an unknown option", pid, err)
end

local function print_works()
  t.runs(function() print("lua_api.processes:print_works", 1, nil, true, 2.5) end, "print with several values")
  t.runs(function() print() end, "print without values")
end

return {
  identity = identity,
  echo_args = echo_args,
  reports_options = reports_options,
  terminates_itself = terminates_itself,
  terminates_itself_inside_pcall = terminates_itself_inside_pcall,
  terminates_itself_inside_a_coroutine = terminates_itself_inside_a_coroutine,
  terminates_itself_inside_a_coroutine_under_a_close_handler = terminates_itself_inside_a_coroutine_under_a_close_handler,
  a_process_that_terminates_itself_inside_pcall_or_a_coroutine_ends_there = a_process_that_terminates_itself_inside_pcall_or_a_coroutine_ends_there,
  process_pid_and_id = process_pid_and_id,
  spawn_passes_arguments_to_the_method = spawn_passes_arguments_to_the_method,
  spawn_of_an_unknown_entry_or_host_returns_an_error = spawn_of_an_unknown_entry_or_host_returns_an_error,
  spawn_with_an_argument_that_cannot_cross_processes_returns_an_error = spawn_with_an_argument_that_cannot_cross_processes_returns_an_error,
  a_process_can_terminate_itself = a_process_can_terminate_itself,
  entry_method_selects_the_function_to_run = entry_method_selects_the_function_to_run,
  get_options_and_set_options = get_options_and_set_options,
  set_options_with_an_unknown_option_is_an_error = set_options_with_an_unknown_option_is_an_error,
  with_options_sets_trap_links_of_the_child = with_options_sets_trap_links_of_the_child,
  print_works = print_works,
}
