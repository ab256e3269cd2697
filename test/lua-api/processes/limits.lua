-- Host limits (docs/isolation.md): exceeding one is an error to the sender, never a crash.
local t = require("t")

local FEW_PROCESSES = "lua_api.processes:few_processes"
local SMALL_MAILBOXES = "lua_api.processes:small_mailboxes"

-- Child processes ---------------------------------------------------------------------------

--- Never reads its mail; returns when terminated.
local function ignores_mail()
  channel.new():receive()
end

local function quick()
  return "quick"
end

-- Tests -------------------------------------------------------------------------------------

local function spawn_beyond_max_processes_is_an_error()
  local events = process.events()
  local a = t.check("spawn 1 of 2", process.spawn_monitored("ignores_mail", FEW_PROCESSES))
  local b = t.check("spawn 2 of 2", process.spawn_monitored("ignores_mail", FEW_PROCESSES))
  local ok, pid, err = pcall(process.spawn, "ignores_mail", FEW_PROCESSES)
  t.ok(ok, "spawn on a full host returns instead of raising (raised " .. t.show(pid) .. ")")
  t.fails("spawn 3 of 2", pid, err)
  process.terminate(a)
  t.event(events, process.event.EXIT, a, "EXIT of the first child")
  local c = t.check("spawn after one ended", process.spawn_monitored("quick", FEW_PROCESSES))
  t.event(events, process.event.EXIT, c, "EXIT of the quick child")
  process.terminate(b)
end

local function a_message_above_max_message_size_is_an_error()
  local child = t.check("spawn", process.spawn("ignores_mail", SMALL_MAILBOXES))
  t.eq(process.send(child, "small", "fits"), true, "a small message")
  local ok, value, err = pcall(process.send, child, "big", string.rep("x", 4096))
  t.ok(ok, "send of a big message returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("send 4 KiB to a host with max_message_size 1KiB", value, err)
  process.terminate(child)
end

local function sending_to_a_full_mailbox_is_an_error()
  local child = t.check("spawn", process.spawn("ignores_mail", SMALL_MAILBOXES))
  for i = 1, 5 do
    t.eq(process.send(child, "m", i), true, "message " .. i .. " of a mailbox of 5")
  end
  local ok, value, err = pcall(process.send, child, "m", 6)
  t.ok(ok, "send to a full mailbox returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("message 6 to a mailbox of 5", value, err)
  process.terminate(child)
end

return {
  ignores_mail = ignores_mail,
  quick = quick,
  spawn_beyond_max_processes_is_an_error = spawn_beyond_max_processes_is_an_error,
  a_message_above_max_message_size_is_an_error = a_message_above_max_message_size_is_an_error,
  sending_to_a_full_mailbox_is_an_error = sending_to_a_full_mailbox_is_an_error,
}
