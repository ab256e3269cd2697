-- Mail between processes of one host when taking it fails: a receive that runs out of memory
-- making what it takes leaves the message queued for the next receive, takes no later mail,
-- and an upgrade keeps what a waiting fiber was sent.
local t = require("t")
local time = require("time")

local TIGHT_HOST = "lua_api.messages:tight_host" -- max_process_memory 4 MiB
local ROOMY_HOST = "lua_api:processes"
local BIG = 600 * 1024
-- Past what fill_memory leaves: a message it cannot even hold.
local BIGGER = 960 * 1024

-- Child processes ----------------------------------------------------------------------------

--- Fills its memory with strings of 64 KiB until it is refused, then frees 12 of them (768 KiB,
--- and less than 128 KiB was left): room to wait and receive, not to take a message of BIG
--- bytes (its encoding and what it decodes to).
local function fill_memory()
  local hog = {}
  pcall(function() for i = 1, 1000 do hog[i] = string.rep(string.char(65 + i % 26), 64 * 1024) end end)
  for i = #hog, math.max(1, #hog - 11), -1 do hog[i] = nil end
  collectgarbage()
  return hog
end

--- The first of two receives on `ch` (`how`: "receive" or "select") while its memory is
--- nearly full; what it raised, or what it got.
local function receive_short_of_memory(ch, how)
  local ok, got = pcall(function()
    if how == "select" then return channel.select({ ch:case_receive(), time.after("5s"):case_receive() }).value end
    return ch:receive()
  end)
  return ok and "received" or tostring(got)
end

--- Listens on "big", says it is ready, and waits there with its memory nearly full; a message
--- too big to decode comes while it waits. Reports that first receive, then what a second one
--- gets once it has freed its memory.
local function waits_short_of_memory(parent)
  local big = process.listen("big")
  local hog = fill_memory()
  process.send(parent, "ready", true)
  local first = receive_short_of_memory(big)
  local queued = big:_buffered()
  hog = nil
  collectgarbage()
  local sel = channel.select({ big:case_receive(), time.after("2s"):case_receive() })
  process.send(parent, "report", {
    first = first, queued = queued, second = sel.channel == big and #sel.value[1] or "nothing",
  })
end

--- Spawns waits_short_of_memory on this host, and sends it a table of BIG bytes directly once
--- it waits; forwards its report to `parent`.
local function sends_to_a_receiver_short_of_memory(parent)
  local ready, report = process.listen("ready"), process.listen("report")
  local child = t.check("spawn", process.spawn("waits_short_of_memory", TIGHT_HOST, process.pid()))
  t.receive(ready, "ready")
  time.sleep("50ms") -- it waits by now
  t.check("send", process.send(child, "big", { string.rep("y", BIG) }))
  process.send(parent, "report", t.receive(report, "the receiver's report", "10s"))
end

local function sends_two(to)
  process.send(to, "m", "m1")
  process.send(to, "m", "m2")
end

--- Waits on its inbox (`how`) with its memory nearly full, for a message from another host too
--- big to take; then, with its memory freed, takes that one, has a process of its own host
--- send it m1 and m2 directly, and reports what it received.
local function fails_a_receive_then_takes_direct_mail(parent, how)
  local inbox = process.inbox()
  local hog = fill_memory()
  process.send(parent, "ready", true)
  local first = receive_short_of_memory(inbox, how)
  hog = nil
  collectgarbage()
  local big = #inbox:receive():payload():data()
  process.spawn("sends_two", TIGHT_HOST, process.pid())
  local got = {}
  for i = 1, 2 do
    -- Spread over two nodes (test/cluster), sends_two may run on the other node.
    local sel = channel.select({ inbox:case_receive(), time.after("5s"):case_receive() })
    got[i] = sel.channel == inbox and sel.value:payload():data() or "nothing"
  end
  process.send(parent, "report", { first = first, big = big, got = got })
end

local function sends_go_then_two(to)
  process.send(to, "go", true)
  sends_two(to)
end

--- A fiber waits on the inbox while the main fiber waits on "go"; a process of this host sends
--- "go", m1 and m2. The main fiber upgrades to reports_after_upgrade on "go".
local function upgrades_while_a_fiber_waits(parent)
  local inbox = process.inbox()
  local go = process.listen("go")
  coroutine.spawn(function()
    local m = inbox:receive()
    process.send(parent, "old_code_got", m:payload():data())
  end)
  process.spawn("sends_go_then_two", ROOMY_HOST, process.pid())
  go:receive()
  process.upgrade("lua_api.messages:reports_after_upgrade", parent)
end

local function reports_after_upgrade(parent)
  local inbox = process.inbox()
  local got = {}
  for i = 1, 2 do
    local sel = channel.select({ inbox:case_receive(), time.after("300ms"):case_receive() })
    got[i] = sel.channel == inbox and sel.value:payload():data() or "nothing"
  end
  process.send(parent, "new_code_got", got)
end

-- Tests ----------------------------------------------------------------------------------------

local function a_message_too_big_for_its_waiting_receiver_stays_for_the_next_receive()
  local reports = process.listen("report")
  t.check("spawn", process.spawn("sends_to_a_receiver_short_of_memory", TIGHT_HOST, process.pid()))
  local report = t.receive(reports, "the report", "15s")
  t.contains(report.first, "not enough memory", "the receive that could not make the message")
  t.eq(report.queued, 1, "the message, still queued after the failed receive")
  t.eq(report.second, BIG, "the next receive gets it")
end

--- A receive (`how`) that failed for memory, then m1 and m2 sent directly: both arrive.
local function failed_receive_then_direct_mail(how)
  local ready, reports = process.listen("ready"), process.listen("report")
  local child = t.check("spawn", process.spawn("fails_a_receive_then_takes_direct_mail", TIGHT_HOST, process.pid(), how))
  t.receive(ready, "ready")
  time.sleep("50ms") -- it waits by now
  -- From this host, not the child's: the child's host holds it until the child takes it.
  t.check("send", process.send(child, "big", string.rep("q", BIGGER)))
  local report = t.receive(reports, "the report", "15s")
  t.contains(report.first, "not enough memory", "the receive that could not take the message")
  t.eq(report.big, BIGGER, "the message, taken once there was room")
  t.eq(report.got, { "m1", "m2" }, "the mail sent directly after")
end

local function a_receive_that_failed_for_memory_takes_no_later_mail()
  failed_receive_then_direct_mail("receive")
end

local function a_select_that_failed_for_memory_takes_no_later_mail()
  failed_receive_then_direct_mail("select")
end

local function an_upgrade_keeps_mail_sent_to_a_waiting_fiber()
  local old, new = process.listen("old_code_got"), process.listen("new_code_got")
  t.check("spawn", process.spawn("upgrades_while_a_fiber_waits", ROOMY_HOST, process.pid()))
  local got = t.receive(new, "the new code's report", "5s")
  local sel = channel.select({ old:case_receive(), default = true })
  t.eq({ sel.channel == old and sel.value or "nothing", got }, { "nothing", { "m1", "m2" } },
    "m1 and m2 reach the new code")
end

return {
  waits_short_of_memory = waits_short_of_memory,
  sends_to_a_receiver_short_of_memory = sends_to_a_receiver_short_of_memory,
  sends_two = sends_two,
  fails_a_receive_then_takes_direct_mail = fails_a_receive_then_takes_direct_mail,
  sends_go_then_two = sends_go_then_two,
  upgrades_while_a_fiber_waits = upgrades_while_a_fiber_waits,
  reports_after_upgrade = reports_after_upgrade,
  a_message_too_big_for_its_waiting_receiver_stays_for_the_next_receive =
    a_message_too_big_for_its_waiting_receiver_stays_for_the_next_receive,
  a_receive_that_failed_for_memory_takes_no_later_mail = a_receive_that_failed_for_memory_takes_no_later_mail,
  a_select_that_failed_for_memory_takes_no_later_mail = a_select_that_failed_for_memory_takes_no_later_mail,
  an_upgrade_keeps_mail_sent_to_a_waiting_fiber = an_upgrade_keeps_mail_sent_to_a_waiting_fiber,
}
