-- Monitors: EXIT events with the value or the error of the monitored process.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

local function monitor_sees_exit_with_the_value_of_a_child()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("returns", HOST, { answer = 42, list = { "a", "b" } }))
  local event = t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.eq(event.result.value, { answer = 42, list = { "a", "b" } }, "result.value")
  t.is_nil(event.result.error, "result.error of a normal exit")
end

local function monitor_sees_exit_with_the_error_kind_message_and_retryable_of_a_child()
  local events = process.events()
  local spec = { message = "broke on purpose", kind = errors.CONFLICT, retryable = true, details = { code = 7 } }
  local child = t.check("spawn", process.spawn_monitored("raises", HOST, spec))
  local event = t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.is_nil(event.result.value, "result.value of a failed exit")
  local err = t.is_error(event.result.error, errors.CONFLICT, "result.error")
  t.eq(err:message(), "broke on purpose", "error message")
  t.eq(err:retryable(), true, "error retryable")
  t.eq((err:details() or {}).code, 7, "error details.code")

  local plain = t.check("spawn", process.spawn_monitored("raises_text", HOST, "plain text failure"))
  local e2 = t.event(events, process.event.EXIT, plain, "EXIT of a child raising a string")
  t.is_error(e2.result.error, nil, "result.error of a string raise")
  t.contains(e2.result.error:message(), "plain text failure", "message of a string raise")
end

local function every_monitor_sees_exit()
  local events = process.events()
  local watching, watched = process.listen("watching"), process.listen("watched")
  local child = t.check("spawn", process.spawn_monitored("waits_until_watched", HOST, process.pid()))
  t.check("spawn a second monitor", process.spawn("watches", HOST, process.pid(), child))
  t.receive(watching, "the second monitor is watching")
  process.send(child, "stop", "seen by both")
  local mine = t.event(events, process.event.EXIT, child, "EXIT seen by this process")
  t.eq(mine.result.value, "seen by both", "value seen by this process")
  t.eq(t.receive(watched, "EXIT seen by the second monitor"), { kind = "EXIT", from = child, value = "seen by both" },
    "EXIT seen by the second monitor")
end

local function exit_event_has_kind_from_and_at()
  local events = process.events()
  local before = time.now()
  local child = t.check("spawn", process.spawn_monitored("returns", HOST, 1))
  local event = t.event(events, process.event.EXIT, child, "the child's EXIT")
  local after = time.now()
  t.eq(event.kind, "EXIT", "kind")
  t.eq(event.from, child, "from")
  t.ok(event.at ~= nil, "at is set")
  t.ok(not event.at:before(before) and not event.at:after(after),
    "at (" .. tostring(event.at) .. ") lies between spawn (" .. tostring(before) .. ") and receive (" .. tostring(after) .. ")")
end

local function event_kind_constants_name_exit_link_down_and_cancel()
  t.eq(process.event.EXIT, "EXIT", "process.event.EXIT")
  t.eq(process.event.LINK_DOWN, "LINK_DOWN", "process.event.LINK_DOWN")
  t.eq(process.event.CANCEL, "CANCEL", "process.event.CANCEL")
end

--- Waits until sends to `pid` fail: the process has ended.
local function wait_until_gone(pid)
  for _ = 1, 500 do
    if process.send(pid, "ping") == nil then return end
    time.sleep("1ms")
  end
  t.fail("wait for " .. pid .. " to end", "it still runs")
end

local function unmonitor_stops_exit_events()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("waits", HOST))
  t.eq(process.unmonitor(child), true, "unmonitor returns true")
  process.send(child, "stop", "bye")
  wait_until_gone(child)
  t.silent(events, "30ms", "no EXIT after unmonitor")
end

local function monitor_of_a_running_process_sees_its_exit()
  local events = process.events()
  local child = t.check("spawn", process.spawn("waits", HOST))
  t.eq(process.monitor(child), true, "monitor returns true")
  process.send(child, "stop", "value after monitor")
  local event = t.event(events, process.event.EXIT, child, "EXIT after process.monitor")
  t.eq(event.result.value, "value after monitor", "result.value")
end

local function monitoring_or_linking_a_dead_pid_is_an_error()
  local events = process.events()
  local child = t.check("spawn", process.spawn_monitored("returns", HOST, 1))
  t.event(events, process.event.EXIT, child, "the child's EXIT")
  t.fails("monitor an ended process", process.monitor(child))
  t.fails("link to an ended process", process.link(child))
end

local function spawn_monitored_is_set_up_before_the_child_runs()
  local events = process.events()
  for i = 1, 5 do
    local child = t.check("spawn", process.spawn_monitored("raises", HOST, { message = "at once " .. i }))
    local event = t.event(events, process.event.EXIT, child, "EXIT of a child that fails at once (" .. i .. ")")
    t.eq(event.result.error:message(), "at once " .. i, "message")
  end
end

return {
  monitor_sees_exit_with_the_value_of_a_child = monitor_sees_exit_with_the_value_of_a_child,
  monitor_sees_exit_with_the_error_kind_message_and_retryable_of_a_child = monitor_sees_exit_with_the_error_kind_message_and_retryable_of_a_child,
  every_monitor_sees_exit = every_monitor_sees_exit,
  exit_event_has_kind_from_and_at = exit_event_has_kind_from_and_at,
  event_kind_constants_name_exit_link_down_and_cancel = event_kind_constants_name_exit_link_down_and_cancel,
  unmonitor_stops_exit_events = unmonitor_stops_exit_events,
  monitor_of_a_running_process_sees_its_exit = monitor_of_a_running_process_sees_its_exit,
  monitoring_or_linking_a_dead_pid_is_an_error = monitoring_or_linking_a_dead_pid_is_an_error,
  spawn_monitored_is_set_up_before_the_child_runs = spawn_monitored_is_set_up_before_the_child_runs,
}
