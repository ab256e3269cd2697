-- Links: the cascade without trap_links, LINK_DOWN with it, and nothing on a normal exit.
local t = require("t")

local HOST = "lua_api:processes"

local function link_cascade_fails_the_linked_parent_without_trap_links()
  -- A third process (this test) monitors the parent, which links to a child that fails.
  local events = process.events()
  local parent = t.check("spawn the parent", process.spawn_monitored("links_to_a_failing_child", HOST))
  local event = t.event(events, process.event.EXIT, parent, "the parent's EXIT")
  t.is_nil(event.result.value, "the parent has no value")
  local err = t.is_error(event.result.error, nil, "the parent's error")
  t.contains(err:message(), "linked process failed", "the parent's error message")
end

local function link_cascade_passes_along_a_chain()
  local events = process.events()
  local top = t.check("spawn the top of the chain", process.spawn_monitored("links_to_a_chain", HOST))
  local event = t.event(events, process.event.EXIT, top, "EXIT of the top of the chain")
  t.contains(t.is_error(event.result.error, nil, "its error"):message(), "linked process failed", "its error message")
end

local function terminating_a_linked_process_gives_link_down()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local child = t.check("spawn", process.spawn_linked("waits", HOST))
  t.eq(process.terminate(child), true, "terminate")
  local event = t.event(events, process.event.LINK_DOWN, child, "LINK_DOWN of the terminated child")
  t.eq(t.is_error(event.result.error, nil, "its error"):message(), "terminated", "its error message")
end

local function trap_links_turns_a_linked_failure_into_a_link_down_event()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local child = t.check("spawn", process.spawn_linked("raises", HOST, { message = "linked child broke", kind = errors.UNAVAILABLE }))
  local event = t.event(events, process.event.LINK_DOWN, child, "LINK_DOWN")
  t.ok(event.at ~= nil, "LINK_DOWN has at")
  local err = t.is_error(event.result.error, errors.UNAVAILABLE, "LINK_DOWN result.error")
  t.eq(err:message(), "linked child broke", "LINK_DOWN error message")
  t.is_nil(event.result.value, "LINK_DOWN result.value")
  return "still running after LINK_DOWN"
end

local function no_link_down_when_a_linked_process_ends_normally()
  local events = process.events()
  -- Without trap_links: a normal exit of a linked process does not fail this one.
  local quiet = t.check("spawn", process.spawn_linked_monitored("returns", HOST, "fine"))
  local exit = t.event(events, process.event.EXIT, quiet, "EXIT of the normal child")
  t.eq(exit.result.value, "fine", "its value")
  -- With trap_links: no LINK_DOWN event either.
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local child = t.check("spawn", process.spawn_linked_monitored("returns", HOST, "fine too"))
  t.event(events, process.event.EXIT, child, "EXIT of the second normal child")
  t.silent(events, "50ms", "no LINK_DOWN after a normal exit")
end

local function spawn_linked_is_set_up_before_the_child_runs()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  for i = 1, 5 do
    local child = t.check("spawn", process.spawn_linked("raises", HOST, { message = "at once " .. i }))
    t.event(events, process.event.LINK_DOWN, child, "LINK_DOWN of a child that fails at once (" .. i .. ")")
  end
end

local function spawn_linked_monitored_gives_exit_and_link_down()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local child = t.check("spawn", process.spawn_linked_monitored("raises", HOST, { message = "both" }))
  local kinds = {}
  for i = 1, 2 do
    local event = t.receive(events, "event " .. i)
    t.eq(event.from, child, "event " .. i .. " is from the child")
    t.eq(event.result.error:message(), "both", "error of event " .. i)
    kinds[event.kind] = true
  end
  t.eq(kinds, { EXIT = true, LINK_DOWN = true }, "the kinds of the two events")
  t.silent(events, "20ms", "nothing more")
end

local function link_and_unlink_a_running_process()
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local events = process.events()
  local linked = t.check("spawn", process.spawn("waits", HOST))
  t.eq(process.link(linked), true, "link returns true")
  process.send(linked, "fail", "failing while linked")
  local event = t.event(events, process.event.LINK_DOWN, linked, "LINK_DOWN after process.link")
  t.eq(event.result.error:message(), "failing while linked", "its error")

  local unlinked = t.check("spawn", process.spawn_monitored("waits", HOST))
  t.eq(process.link(unlinked), true, "link returns true")
  t.eq(process.unlink(unlinked), true, "unlink returns true")
  process.send(unlinked, "fail", "failing after unlink")
  local exit = t.event(events, process.event.EXIT, unlinked, "EXIT of the unlinked child (monitored)")
  t.eq(exit.result.error:message(), "failing after unlink", "its error")
  t.silent(events, "30ms", "no LINK_DOWN after unlink")
end

return {
  link_cascade_fails_the_linked_parent_without_trap_links = link_cascade_fails_the_linked_parent_without_trap_links,
  link_cascade_passes_along_a_chain = link_cascade_passes_along_a_chain,
  terminating_a_linked_process_gives_link_down = terminating_a_linked_process_gives_link_down,
  trap_links_turns_a_linked_failure_into_a_link_down_event = trap_links_turns_a_linked_failure_into_a_link_down_event,
  no_link_down_when_a_linked_process_ends_normally = no_link_down_when_a_linked_process_ends_normally,
  spawn_linked_is_set_up_before_the_child_runs = spawn_linked_is_set_up_before_the_child_runs,
  spawn_linked_monitored_gives_exit_and_link_down = spawn_linked_monitored_gives_exit_and_link_down,
  link_and_unlink_a_running_process = link_and_unlink_a_running_process,
}
