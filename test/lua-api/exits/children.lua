-- Child processes of the exit tests: each ends in one particular way.

--- Returns its argument.
local function returns(value)
  return value
end

--- Raises an error object made from `spec` (a table for errors.new).
local function raises(spec)
  error(errors.new(spec))
end

--- Raises a plain string.
local function raises_text(text)
  error(text)
end

--- Waits for one message: "stop" returns its payload, "fail" raises it.
local function waits()
  local msg = process.inbox():receive()
  if msg:topic() == "fail" then error(errors.new({ message = msg:payload():data(), kind = errors.CONFLICT })) end
  return msg:payload():data()
end

--- Links to a child that fails at once, then waits forever: the link must end it.
local function links_to_a_failing_child()
  process.spawn_linked("raises", "lua_api:processes", { message = "child broke", kind = errors.INTERNAL })
  channel.new():receive()
  return "not reached"
end

--- Monitors `target`, tells it so, and forwards its EXIT event to `parent`. The message to
--- `target` comes after the monitor (one sender's operations on a process arrive in order), so
--- once `target` has it, the monitor is in place, also on another thread or node.
local function watches(parent, target)
  local events = process.events()
  process.monitor(target)
  process.send(target, "monitored", process.pid())
  local event = events:receive()
  process.send(parent, "watched", { kind = event.kind, from = event.from, value = event.result.value })
end

--- Tells `parent` once a watcher's monitor is in place ("monitored"), then returns the
--- payload of the first message in its inbox.
local function waits_until_watched(parent)
  process.listen("monitored"):receive()
  process.send(parent, "watching", process.pid())
  return process.inbox():receive():payload():data()
end

--- Links to a child that links to a failing grandchild, then waits forever.
local function links_to_a_chain()
  process.spawn_linked("links_to_a_failing_child", "lua_api:processes")
  channel.new():receive()
  return "not reached"
end

--- Waits for a CANCEL event, tells `parent` it is still running, then returns what it saw.
local function cancellable(parent)
  local event = process.events():receive()
  process.send(parent, "still running", event.kind)
  return {
    kind = event.kind,
    from = event.from,
    reason = event.reason,
    has_reason = event.reason ~= nil,
    at_is_time = type(event.at) == "userdata" and event.at.unix_nano ~= nil,
  }
end

--- Runs until terminated.
local function forever()
  channel.new():receive()
end

return {
  returns = returns,
  raises = raises,
  raises_text = raises_text,
  waits = waits,
  links_to_a_failing_child = links_to_a_failing_child,
  watches = watches,
  waits_until_watched = waits_until_watched,
  links_to_a_chain = links_to_a_chain,
  cancellable = cancellable,
  forever = forever,
}
