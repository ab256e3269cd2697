-- When a process fails (docs/concepts/processes.md): main raises, a coroutine raises, or main
-- returns a second value that is a string or an error.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

local function returns_nil_and_text()
  return nil, "failed with a string"
end

local function returns_nil_and_error()
  return nil, errors.new({ message = "failed with an error", kind = errors.PERMISSION_DENIED, details = { who = "me" } })
end

local function raises_any_value(kind)
  if kind == "number" then error(42) end
  if kind == "table" then error({ code = 7 }) end
  if kind == "nil" then error(nil) end
  error("unknown kind " .. tostring(kind))
end

local function overflows_the_stack()
  local function deeper(n) return 1 + deeper(n + 1) end
  return deeper(1)
end

local function returns_two_plain_values()
  return "first", 2
end

local function coroutine_raises()
  coroutine.spawn(function()
    time.sleep("5ms")
    error("spawned coroutine broke")
  end)
  channel.new():receive()
end

local function returns_while_a_coroutine_sleeps(parent)
  coroutine.spawn(function()
    time.sleep("30ms")
    process.send(parent, "late", "a coroutine outlived main")
  end)
  return "main done"
end

-- Tests -------------------------------------------------------------------------------------

local function process_fails_when_main_returns_nil_and_a_string()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("returns_nil_and_text", HOST))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  local err = t.is_error(exit.result.error, nil, "result.error")
  t.eq(err:message(), "failed with a string", "message")
  local value, exec_err = process.exec("returns_nil_and_text", HOST)
  t.is_nil(value, "exec value")
  t.eq(t.is_error(exec_err, nil, "exec error"):message(), "failed with a string", "exec error message")
end

local function process_fails_when_main_returns_nil_and_an_error()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("returns_nil_and_error", HOST))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  local err = t.is_error(exit.result.error, errors.PERMISSION_DENIED, "result.error")
  t.eq(err:message(), "failed with an error", "message")
  t.eq(err:details(), { who = "me" }, "details")
end

local function a_process_that_raises_any_value_fails()
  local events = process.events()
  for _, kind in ipairs({ "number", "table", "nil" }) do
    local child = t.check("spawn", process.spawn_monitored("raises_any_value", HOST, kind))
    local exit = t.event(events, process.event.EXIT, child, "EXIT after error() of a " .. kind)
    t.is_nil(exit.result.value, "value after error() of a " .. kind)
    t.is_error(exit.result.error, nil, "error after error() of a " .. kind)
  end
end

local function a_stack_overflow_fails_only_that_process()
  local value, err = process.exec("overflows_the_stack", HOST)
  t.is_nil(value, "value")
  t.contains(t.is_error(err, nil, "error"):message(), "stack overflow", "message")
  t.eq(process.exec("returns_two_plain_values", HOST), "first", "the host still runs processes")
end

local function a_second_return_value_of_another_type_does_not_fail()
  local value, err = process.exec("returns_two_plain_values", HOST)
  t.is_nil(err, "exec error")
  t.eq(value, "first", "exec value")
end

local function a_failing_spawned_coroutine_fails_the_process()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("coroutine_raises", HOST))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  local err = t.is_error(exit.result.error, nil, "result.error")
  t.contains(err:message(), "spawned coroutine broke", "message")
end

local function other_coroutines_end_when_main_returns()
  local events = process.events()
  local late = process.listen("late")
  local child = t.check("spawn", process.spawn_monitored("returns_while_a_coroutine_sleeps", HOST, process.pid()))
  local exit = t.event(events, process.event.EXIT, child, "EXIT")
  t.eq(exit.result.value, "main done", "value")
  t.silent(late, "80ms", "a message from the coroutine that should have ended with main")
end

return {
  returns_nil_and_text = returns_nil_and_text,
  returns_nil_and_error = returns_nil_and_error,
  returns_two_plain_values = returns_two_plain_values,
  raises_any_value = raises_any_value,
  overflows_the_stack = overflows_the_stack,
  coroutine_raises = coroutine_raises,
  returns_while_a_coroutine_sleeps = returns_while_a_coroutine_sleeps,
  process_fails_when_main_returns_nil_and_a_string = process_fails_when_main_returns_nil_and_a_string,
  process_fails_when_main_returns_nil_and_an_error = process_fails_when_main_returns_nil_and_an_error,
  a_process_that_raises_any_value_fails = a_process_that_raises_any_value_fails,
  a_stack_overflow_fails_only_that_process = a_stack_overflow_fails_only_that_process,
  a_second_return_value_of_another_type_does_not_fail = a_second_return_value_of_another_type_does_not_fail,
  a_failing_spawned_coroutine_fails_the_process = a_failing_spawned_coroutine_fails_the_process,
  other_coroutines_end_when_main_returns = other_coroutines_end_when_main_returns,
}
