-- Whose memory mail between processes of one host counts against (docs/isolation.md): what is
-- queued for a receiver is the host's, what a receiver takes is its own, never its sender's.
local t = require("t")
local time = require("time")

local TIGHT_HOST = "lua_api.messages:tight_host" -- max_process_memory 4 MiB
local PIECE = 40 * 1024

-- Child processes ----------------------------------------------------------------------------

--- Opens its inbox and never receives.
local function never_receives()
  process.inbox()
  process.listen("never"):receive()
end

--- Receives and keeps every message until "done", then reports how many it kept.
local function keeps_everything(parent)
  local inbox = process.inbox()
  local kept = {}
  while true do
    local msg = inbox:receive()
    if msg:topic() == "done" then break end
    kept[#kept + 1] = msg
  end
  process.send(parent, "kept", #kept)
end

--- Sends `count` tables of PIECE bytes each to `to`, keeping nothing, then "done"; reports how
--- far it got, and why it stopped if it did.
local function sends_pieces(parent, to, count)
  local piece = string.rep("x", PIECE)
  for i = 1, count do
    local ok, err = process.send(to, "n", { i = i, piece = piece })
    if not ok then
      process.send(parent, "sent", { sent = i - 1, error = err:kind() })
      return
    end
    if i % 16 == 0 then collectgarbage() end
  end
  process.send(to, "done")
  process.send(parent, "sent", { sent = count })
end

--- Sends `to` a fresh string of 900 KiB, then ends.
local function gives_a_long_string(to, i)
  process.send(to, "gift", string.rep(string.char(64 + i), 900 * 1024))
end

--- Takes six strings of 900 KiB, each from a process of its own host that then ends, and keeps
--- them all (5.3 MiB, past its 4 MiB); reports what it held if it could.
local function keeps_long_strings(parent)
  local inbox = process.inbox()
  local kept = {}
  for i = 1, 6 do
    process.spawn("gives_a_long_string", TIGHT_HOST, process.pid(), i)
    kept[i] = inbox:receive():payload():data()
  end
  process.send(parent, "kept", #kept)
end

--- Makes a table of 600 KiB, fills the rest of its memory with strings of 64 KiB until it is
--- refused, then sends the table to itself: there is no room to encode it. Reports the answer.
local function sends_without_room_to_encode(parent)
  local big = { string.rep("y", 600 * 1024) }
  local hog = {}
  pcall(function() for i = 1, 1000 do hog[i] = string.rep(string.char(65 + i % 26), 64 * 1024) end end)
  collectgarbage()
  local ok, err = process.send(process.pid(), "big", big)
  hog = nil
  process.send(parent, "answer", { ok = ok, kind = err and err:kind(), retryable = err and err:retryable(),
    message = err and err:message() })
end

-- Tests ----------------------------------------------------------------------------------------

--- Spawns `receiver` on the tight host, then a sender of `count` pieces to it there; returns
--- the sender's report and how the receiver ended within `wait` after it (nil: it did not).
local function pieces_to(receiver, count, wait)
  local sent, events = process.listen("sent"), process.events()
  local to = t.check("spawn " .. receiver, process.spawn_monitored(receiver, TIGHT_HOST, process.pid()))
  t.check("spawn the sender", process.spawn("sends_pieces", TIGHT_HOST, process.pid(), to, count))
  local report = t.receive(sent, "the sender's report", "20s")
  local sel = channel.select({ events:case_receive(), time.after(wait):case_receive() })
  return report, sel.channel == events and sel.value or nil
end

local function mail_queued_for_a_receiver_is_not_charged_to_its_sender()
  -- 150 × 40 KiB (6 MiB) queued for a process that never receives, from a sender that may hold
  -- 4 MiB and keeps none of it.
  local report, ended = pieces_to("never_receives", 150, "200ms")
  t.eq(report, { sent = 150 }, "every send")
  t.eq(ended, nil, "the receiver runs on")
end

local function mail_a_receiver_keeps_is_charged_to_the_receiver()
  -- On another node (the suite spread), its mail comes after the sender is done: wait for it.
  local report, ended = pieces_to("keeps_everything", 150, "20s")
  t.ok(ended ~= nil, "the receiver ended")
  t.eq(ended.result.error:kind(), errors.RATE_LIMITED, "out of memory: " .. tostring(ended.result.error))
  t.contains(ended.result.error:message(), "out of memory: this process holds", "its own limit")
  -- The sender was never refused for memory: it sent until the receiver was gone (or, the
  -- receiver on another node, it sent everything: mail there is stored, then dropped).
  t.ok(report.sent >= 50, "sent past what one process may hold: " .. t.show(report))
  if report.error ~= nil then t.eq(report.error, errors.NOT_FOUND, "then the receiver was gone") end
end

local function long_strings_a_receiver_keeps_are_charged_to_it()
  local kept, events = process.listen("kept"), process.events()
  t.check("spawn", process.spawn_monitored("keeps_long_strings", TIGHT_HOST, process.pid()))
  local sel = channel.select({ kept:case_receive(), events:case_receive(), time.after("10s"):case_receive() })
  t.ok(sel.channel == events, "it ended before it kept them all: " .. t.show(sel.value))
  t.contains(sel.value.result.error:message(), "out of memory: this process holds", "its own limit")
end

local function a_message_its_sender_has_no_room_to_encode_is_rate_limited()
  local answers = process.listen("answer")
  t.check("spawn", process.spawn("sends_without_room_to_encode", TIGHT_HOST, process.pid()))
  local answer = t.receive(answers, "the answer", "10s")
  t.eq({ answer.ok, answer.kind, answer.retryable }, { nil, errors.RATE_LIMITED, true }, t.show(answer))
  t.contains(answer.message, "no room to encode", "what the error says")
end

return {
  sends_without_room_to_encode = sends_without_room_to_encode,
  a_message_its_sender_has_no_room_to_encode_is_rate_limited = a_message_its_sender_has_no_room_to_encode_is_rate_limited,
  never_receives = never_receives,
  keeps_everything = keeps_everything,
  sends_pieces = sends_pieces,
  gives_a_long_string = gives_a_long_string,
  keeps_long_strings = keeps_long_strings,
  mail_queued_for_a_receiver_is_not_charged_to_its_sender = mail_queued_for_a_receiver_is_not_charged_to_its_sender,
  mail_a_receiver_keeps_is_charged_to_the_receiver = mail_a_receiver_keeps_is_charged_to_the_receiver,
  long_strings_a_receiver_keeps_are_charged_to_it = long_strings_a_receiver_keeps_are_charged_to_it,
}
