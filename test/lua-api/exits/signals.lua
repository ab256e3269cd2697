-- CANCEL (a request the target answers in its own time) and terminate (forceful).
local t = require("t")

local HOST = "lua_api:processes"

local function cancel_delivers_the_reason_and_the_target_decides_when_to_return()
  local events = process.events()
  local notes = process.listen("still running")
  local child = t.check("spawn", process.spawn_monitored("cancellable", HOST, process.pid()))
  t.eq(process.cancel(child, "shutting down"), true, "cancel returns true")
  t.eq(t.receive(notes, "the child's note after CANCEL"), process.event.CANCEL, "the child saw a CANCEL event")
  local exit = t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.eq(exit.result.value, {
    kind = "CANCEL", from = process.pid(), reason = "shutting down", has_reason = true, at_is_time = true,
  }, "the CANCEL event as the child saw it")
end

local function cancel_without_a_reason_has_no_reason()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("cancellable", HOST, process.pid()))
  t.eq(process.cancel(child), true, "cancel returns true")
  local exit = t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.eq(exit.result.value.kind, "CANCEL", "event kind")
  t.eq(exit.result.value.has_reason, false, "the event has no reason")
end

local function terminate_ends_a_process_and_monitors_see_terminated()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("forever", HOST))
  t.eq(process.terminate(child), true, "terminate returns true")
  local exit = t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.is_nil(exit.result.value, "result.value")
  local err = t.is_error(exit.result.error, nil, "result.error")
  t.eq(err:message(), "terminated", "error message")
  t.fails("send to the terminated process", process.send(child, "x"))
end

local function cancel_or_terminate_of_an_unknown_pid_is_an_error()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("returns", HOST, 1))
  t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.fails("cancel an ended process", process.cancel(child, "late"))
  t.fails("terminate an ended process", process.terminate(child))
end

return {
  cancel_delivers_the_reason_and_the_target_decides_when_to_return = cancel_delivers_the_reason_and_the_target_decides_when_to_return,
  cancel_without_a_reason_has_no_reason = cancel_without_a_reason_has_no_reason,
  terminate_ends_a_process_and_monitors_see_terminated = terminate_ends_a_process_and_monitors_see_terminated,
  cancel_or_terminate_of_an_unknown_pid_is_an_error = cancel_or_terminate_of_an_unknown_pid_is_an_error,
}
