-- process.send: destinations (self, PIDs, registered names), refused sends, and many senders.
local t = require("t")
local time = require("time")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Answers its parent once with its index and PID.
local function answer(parent, index)
  process.send(parent, "answer", index, process.pid())
end

--- Registers `name`, then returns the payload of the first message on topic "hello".
local function named_receiver(name)
  t.check("register " .. name, process.registry.register(name))
  return process.listen("hello"):receive()
end

local function quick()
  return "done"
end

-- Tests -------------------------------------------------------------------------------------

local function send_to_self_arrives()
  local me = process.pid()
  local inbox = process.inbox()
  t.eq(process.send(me, "note", "to myself"), true, "send to self returns true")
  local msg = t.receive(inbox, "the message to myself")
  t.eq({ msg:topic(), msg:from(), msg:payload():data() }, { "note", me, "to myself" }, "topic, sender, payload")
end

local function send_to_a_registered_name_arrives()
  local events = process.events()
  local name = "lua_api.messages.receiver." .. process.pid()
  local child = t.check("spawn the named receiver", process.spawn_monitored("named_receiver", HOST, name))
  local registered
  for _ = 1, 200 do
    registered = process.registry.lookup(name)
    if registered ~= nil then break end
    time.sleep("1ms")
  end
  t.eq(registered, child, "the name resolves to the child")
  t.eq(process.send(name, "hello", "by name"), true, "send by name returns true")
  local exit = t.event(events, process.event.EXIT, child, "the receiver's exit")
  t.eq(exit.result.value, "by name", "what the receiver got")
end

local function send_to_an_unknown_pid_is_not_found()
  local me = process.pid()
  local unknown = me:gsub("|%d+}$", "|999999999}")
  t.ne(unknown, me, "a made-up PID")
  local err = t.fails("send to " .. unknown, process.send(unknown, "x", 1))
  t.is_error(err, errors.NOT_FOUND, "kind of the error")
end

local function send_to_a_name_nobody_registered_is_not_found()
  local err = t.fails("send to an unregistered name", process.send("lua_api.nobody.has.this.name", "x", 1))
  t.is_error(err, errors.NOT_FOUND, "kind of the error")
end

local function send_with_a_reserved_topic_is_invalid()
  local ok, raised = pcall(process.send, process.pid(), "@x", 1)
  t.ok(ok, "process.send with a reserved topic returns instead of raising (raised " .. t.show(raised) .. ")")
  local err = t.fails("send with topic @x", process.send(process.pid(), "@x", 1))
  t.is_error(err, errors.INVALID, "kind of the error")
  t.silent(process.inbox(), "10ms", "nothing was delivered")
end

local function send_to_a_process_that_has_ended_is_not_found()
  local events = process.events()
  local child = t.check("spawn a quick child", process.spawn_monitored("quick", HOST))
  t.event(events, process.event.EXIT, child, "the child's exit")
  local err = t.fails("send to the ended child", process.send(child, "x", 1))
  t.is_error(err, errors.NOT_FOUND, "kind of the error")
  -- Code written for Wippy looks for these words in the message.
  t.ok(err:message():find("not found", 1, true), "the message says not found: " .. err:message())
end

local function send_of_a_value_that_cannot_cross_processes_returns_an_error()
  local ok, value, err = pcall(process.send, process.pid(), "f", function() end)
  t.ok(ok, "process.send of a function returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("send a function", value, err)
end

local function two_thousand_spawned_processes_each_answer_their_parent()
  local me = process.pid()
  local answers = process.listen("answer", { message = true })
  local count = 2000
  local pids, seen = {}, {}
  for i = 1, count do
    local pid = t.check("spawn child " .. i, process.spawn("answer", HOST, me, i))
    t.ok(not seen[pid], "PID " .. pid .. " is given once")
    seen[pid] = i
    pids[i] = pid
  end
  local answered = {}
  for n = 1, count do
    local msg = t.receive(answers, "answer " .. n .. " of " .. count, "5s")
    local index, pid = msg:payload():data()
    t.eq(pid, pids[index], "the PID child " .. index .. " reports")
    t.eq(msg:from(), pid, "the sender of child " .. index .. "'s answer")
    t.ok(not answered[index], "child " .. index .. " answers once")
    answered[index] = true
  end
end

return {
  answer = answer,
  named_receiver = named_receiver,
  quick = quick,
  send_to_self_arrives = send_to_self_arrives,
  send_to_a_registered_name_arrives = send_to_a_registered_name_arrives,
  send_to_an_unknown_pid_is_not_found = send_to_an_unknown_pid_is_not_found,
  send_to_a_name_nobody_registered_is_not_found = send_to_a_name_nobody_registered_is_not_found,
  send_with_a_reserved_topic_is_invalid = send_with_a_reserved_topic_is_invalid,
  send_to_a_process_that_has_ended_is_not_found = send_to_a_process_that_has_ended_is_not_found,
  send_of_a_value_that_cannot_cross_processes_returns_an_error = send_of_a_value_that_cannot_cross_processes_returns_an_error,
  two_thousand_spawned_processes_each_answer_their_parent = two_thousand_spawned_processes_each_answer_their_parent,
}
