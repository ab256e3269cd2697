-- Preemption (docs/isolation.md): a process that never blocks does not starve the others.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

local function spins()
  while true do end
end

local function spins_in_a_coroutine()
  coroutine.wrap(function()
    while true do end
  end)()
end

local function spins_inside_pcall()
  while true do
    pcall(function()
      while true do end
    end)
  end
end

--- Echoes each message to `parent` from inside an xpcall inside a pcall: its receive and its
--- sleep block inside both, and an error after them is the xpcall's.
local function receives_inside_pcall(parent)
  local inbox = process.inbox()
  while true do
    pcall(function()
      local ok, got = xpcall(function()
        local n = inbox:receive():payload():data()
        time.sleep(time.MILLISECOND)
        if n == "fail" then error("failed after a receive", 0) end
        return n
      end, function(m) return "handled: " .. m end)
      process.send(parent, "echo", { ok = ok, got = got })
    end)
  end
end

--- Sleeps `ms` and returns how long the sleep took, in milliseconds.
local function sleeps(ms)
  local t0 = time.now()
  time.sleep(ms * time.MILLISECOND)
  return time.now():sub(t0):milliseconds()
end

-- Tests -------------------------------------------------------------------------------------

local function spinning_process_does_not_stop_a_sleeper_waking_on_time_and_can_be_terminated()
  local events = process.events()
  local spinner = t.check("spawn the spinner", process.spawn_monitored("spins", HOST))
  local nested = t.check("spawn the nested spinner", process.spawn_monitored("spins_in_a_coroutine", HOST))
  local guarded = t.check("spawn the spinner inside pcall", process.spawn_monitored("spins_inside_pcall", HOST))
  local sleeper = t.check("spawn the sleeper", process.spawn_monitored("sleeps", HOST, 50))
  local own = sleeps(50)
  local exit = t.event(events, process.event.EXIT, sleeper, "the sleeper's EXIT")
  -- Spinners that could not be preempted would hold the host for max_slice (1 s) each, and be
  -- stopped (then terminate would not find them): the sleeper wakes well before that, even on
  -- a loaded machine.
  t.between(exit.result.value, 48, 900, "ms the sleeper on the spinners' host slept for 50 ms")
  t.between(own, 48, 900, "ms this process slept for 50 ms")
  t.eq(process.terminate(spinner), true, "terminate the spinner")
  t.eq(process.terminate(nested), true, "terminate the nested spinner")
  t.eq(process.terminate(guarded), true, "terminate the spinner inside pcall")
  local ended = {}
  for i = 1, 3 do
    local event = t.receive(events, "EXIT " .. i .. " of a terminated spinner")
    t.eq(event.result.error:message(), "terminated", "error of " .. event.from)
    ended[event.from] = true
  end
  t.eq(ended, { [spinner] = true, [nested] = true, [guarded] = true }, "all three spinners ended")
end

local function process_blocked_inside_pcall_receives_catches_and_can_be_terminated()
  local events = process.events()
  local inbox = process.inbox()
  local child = t.check("spawn the receiver", process.spawn_monitored("receives_inside_pcall", HOST, process.pid()))
  for _, n in ipairs({ 1, "fail", 2 }) do process.send(child, "n", n) end
  t.eq(t.message(inbox, "echo", "echo of 1"), { ok = true, got = 1 }, "1 received inside the pcalls")
  t.eq(t.message(inbox, "echo", "echo of fail"), { ok = false, got = "handled: failed after a receive" },
    "the error after the receive, caught by the xpcall")
  t.eq(t.message(inbox, "echo", "echo of 2"), { ok = true, got = 2 }, "2 received after the error")
  t.eq(process.terminate(child), true, "terminate the receiver blocked inside the pcalls")
  local exit = t.event(events, process.event.EXIT, child, "the receiver's EXIT")
  t.eq(exit.result.error:message(), "terminated", "the pcalls did not catch the termination")
end

return {
  receives_inside_pcall = receives_inside_pcall,
  process_blocked_inside_pcall_receives_catches_and_can_be_terminated = process_blocked_inside_pcall_receives_catches_and_can_be_terminated,
  spins = spins,
  spins_in_a_coroutine = spins_in_a_coroutine,
  spins_inside_pcall = spins_inside_pcall,
  sleeps = sleeps,
  spinning_process_does_not_stop_a_sleeper_waking_on_time_and_can_be_terminated = spinning_process_does_not_stop_a_sleeper_waking_on_time_and_can_be_terminated,
}
