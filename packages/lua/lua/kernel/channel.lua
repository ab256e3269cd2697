-- Channels (docs/lua-api/channel.md): unbuffered (size 0) hand-off or buffered FIFO, closable,
-- with select over several cases where the first ready case in list order wins.
--
-- Waiters are small tables {fiber, done, value, ok} queued on a channel. A select queues one
-- waiter per case, all sharing a `sel` record; the first case to fire marks the selection done
-- and the other waiters become stale: they are skipped when reached and swept afterwards.
-- Fed channels (inbox, events, listen, timers, futures) have JS as their only sender, and what
-- JS sends stays queued there until a receiver takes it, one value at a time: nothing waits in a
-- Lua buffer, so JS always knows (and limits) what a process has not received, and a process
-- that restarts its code (upgrade) loses none of it. Mail channels (a process's inbox and topics
-- on a process host) also take mail from processes of the same engine into a Lua queue, which
-- JS counts and takes back too: see "Mail channels".
local host, rt = ...

local setmetatable, error, type = setmetatable, error, type
-- The global select: `select` below is the channels'.
local select_n = select
-- A value user code made is compared with the kernel's tables raw: `==` would run a `__eq` its
-- metatable planted, handing it a table that every process of the host shares (NIL, a
-- metatable), whose changes would then run in the others.
local rawequal, rawget, rawlen = rawequal, rawget, rawlen
local raw_getmetatable = debug.getmetatable
local block, wake, current_fiber, pull, await_feed = rt.block, host.wake, rt.fiber, host.pull, host.await_feed
local pull_or_await = host.pull_or_await
local co_yield, BLOCK = coroutine.yield, host.BLOCK

local NIL = setmetatable({}, { __name = 'nil in channel' })

--- What a waiter was handed, as its receive returns it.
local function handed(v)
  if rawequal(v, NIL) then return nil end
  return v
end

-- Methods and metatable apart: with `Channel.__index = Channel`, `ch.__index` would hand out
-- the method table every process of the host shares.
local Channel = {}
local CHANNEL_MT = { __index = Channel, __name = 'channel', __metatable = false }

-- The buffer and the two waiter queues are made on first use: most channels of an idle process
-- (its inbox, its events) never need them. A waiter queue keeps its own ends, and `closed` is
-- set only when it is closed, so a channel has few fields (every idle process has one or more
-- channels: a small hash part counts). A channel without `size` (fed by JS) is unbounded.
local function new_channel(size)
  return setmetatable({ size = size, head = 1, tail = 0 }, CHANNEL_MT)
end

-- A buffer is a ring: entries `head` to `tail` (counted from 1 since it was last empty) are at
-- slots ((i - 1) & mask) * width + 1 to + width of `buf`, which has room for mask + 1 entries of
-- `width` slots (1 for a channel's values; 4 for mail: see "Mail channels"). Slots that only
-- ever climbed would leave the table's array part for its hash part in a queue its receiver
-- never finds empty (a ping-pong with 100 messages in flight reached slot 800,000 of one in
-- 200,000 messages), and every take and put would be a hash lookup and a new key.
local create_table, host_table = host.create_table, host.host_table
-- A long string (an encoding) made by one process and held by another is charged to the holder:
-- a message's encoding is the host's while it is queued, its receiver's once taken.
local charge_to_running, charge_to_host = host.charge_to_running, host.charge_to_host
-- Strings up to this long are interned, shared by all who use them: they stay charged to
-- whoever made them (luact_chargestring leaves them).
local SHORT_STRING <const> = 40
local FIRST_ROOM = 1

--- Makes room for `room` more entries after `tail`, without wrapping: the entries move to a
--- larger ring, from its first slot, when they must (then `head` is 1 and `tail` their count:
--- read them after). Returns the buffer. A ring grown by another process's send (`for_other`)
--- is the host's: see LuaVm.pushHostTable.
local function room_for(ch, width, room, for_other)
  local buf, count = ch.buf, ch.tail - ch.head + 1
  local capacity = buf ~= nil and ch.mask + 1 or 0
  if buf ~= nil and ch.tail + room <= capacity then return buf end
  local grown = capacity > 0 and capacity or FIRST_ROOM
  while grown < count + room do grown = grown * 2 end
  local moved = for_other and host_table(grown * width) or create_table(grown * width, 0)
  if count > 0 then
    local mask, head = ch.mask, ch.head
    for i = 0, count - 1 do
      local from, to = ((head - 1 + i) & mask) * width, i * width
      for k = 1, width do moved[to + k] = buf[from + k] end
    end
  end
  ch.buf, ch.mask, ch.head, ch.tail = moved, grown - 1, 1, count
  return moved
end

--- Puts `v` after the last value of channel `ch`'s buffer (one slot each; mail has its own).
local function put(ch, v)
  local buf = ch.buf
  if buf == nil or ch.tail - ch.head >= ch.mask then buf = room_for(ch, 1, 1) end
  local tail = ch.tail
  buf[(tail & ch.mask) + 1] = v
  ch.tail = tail + 1
end

--- The oldest entry has been taken: an emptied buffer counts from 1 again, and one that a burst
--- made very large (room for 32,768 entries: 2 MiB of mail) is let go (a table never gives back
--- what it grew to: a process that once took a burst of mail would hold room for all of it as
--- long as it lives). Smaller rings are kept: a process that takes 10,000 replies a round
--- would grow one anew each round (fan-out 1 → 10k ran 0.78× with rings of 1,024 let go).
local LARGE_RING <const> = 32767
local function taken(ch)
  local head = ch.head
  if head == ch.tail then
    ch.head, ch.tail = 1, 0
    if ch.mask >= LARGE_RING then ch.buf, ch.mask = nil, nil end
  else
    ch.head = head + 1
  end
end

-- Queues -----------------------------------------------------------------------------------

-- A waiter is live until it is handed a value or its fiber stops waiting (`done`), or its
-- select fires (`sel.done`): others are stale, skipped where they are queued.
local function live(waiter)
  if waiter.done then return false end
  local sel = waiter.sel
  return sel == nil or not sel.done
end

-- The waiters of a channel, one list for receivers (field 'recvq') and one for senders
-- ('sendq'): none (nil); one waiter, held as it is (a waiter has a `fiber`: most channels never
-- have two, and an idle process waits on its inbox alone, where a queue table would cost it
-- ~100 bytes); or a queue {head = h, tail = t, [h..t] = waiter}, oldest first. An emptied
-- queue stays, and starts again at slot 1: with ever higher slots, each new waiter would be a
-- new key of the table's hash part, and the table rehashed every few blocks.

--- The oldest live waiter of list `field` of `ch` (nil: none), taken off it.
local function pop_waiter(ch, field)
  local q = ch[field]
  if q == nil then return nil end
  if q.fiber ~= nil then
    ch[field] = nil
    if live(q) then return q end
    return nil
  end
  local head, tail = q.head, q.tail
  while head <= tail do
    local w = q[head]
    q[head] = nil
    head = head + 1
    if live(w) then
      if head > tail then
        q.head, q.tail = 1, 0
      else
        q.head = head
      end
      return w
    end
  end
  q.head, q.tail = 1, 0
  return nil
end

--- Adds waiter `w` to list `field` of `ch`.
local function push_waiter(ch, field, w)
  local q = ch[field]
  if q == nil then
    ch[field] = w
  elseif q.fiber ~= nil then
    ch[field] = { head = 1, tail = 2, q, w }
  else
    local tail = q.tail + 1
    q.tail = tail
    q[tail] = w
  end
end

local function pop_receiver(ch) return pop_waiter(ch, 'recvq') end
local function pop_sender(ch) return pop_waiter(ch, 'sendq') end
local function push_receiver(ch, w) push_waiter(ch, 'recvq', w) end
local function push_sender(ch, w) push_waiter(ch, 'sendq', w) end

--- Hands `value` to a waiter and wakes its fiber. For a select, the whole selection completes.
local function complete(w, value, ok)
  local sel = w.sel
  if sel ~= nil then
    sel.done = true
    sel.fired = w
  end
  w.value, w.ok, w.done = value, ok, true
  wake(w.fiber)
end

local function buffered(ch)
  return ch.tail - ch.head + 1
end

-- Non-blocking attempts ------------------------------------------------------------------

-- Below: the kernel's record of each mail channel (its buffer holds messages, counted in its
-- process's box), and how one is taken. A record is a list (every idle process has one or
-- more: these are its slots) with the queue's fields (see rt.new_mail_channel).
local MAILS, take_mail = setmetatable({}, { __mode = 'k' }), nil
rt.share(MAILS)
local M_KIND <const>, M_BOX <const>, M_INFLOW <const>, M_ID <const> = 1, 2, 3, 4

-- The id JS knows each fed channel by, kept where user code cannot write it: a channel's own
-- fields are its process's to write, and an id written there would have JS keep queues and
-- timers for channels that do not exist, at nobody's charge. A mail channel's is in its record.
local FED_IDS = setmetatable({}, { __mode = 'k' })
rt.share(FED_IDS)

--- The id of fed channel `ch` (nil: a plain channel).
local function fed_id_of(ch)
  local mail = MAILS[ch]
  if mail ~= nil then return mail[M_ID] end
  return FED_IDS[ch]
end
rt.fed_id_of = fed_id_of

--- Where channel `ch`'s queue and waiting receivers are: a mail channel's record, else the
--- channel itself.
local function queue_of(ch)
  return MAILS[ch] or ch
end

--- value, ok, ready: `ready` is false when a receive would have to wait.
local function try_receive(ch)
  local mail = MAILS[ch]
  if mail ~= nil then
    if mail.tail >= mail.head then return take_mail(mail), true, true end
    if mail.closed then return nil, false, true end
    return nil, nil, false
  end
  if ch.tail >= ch.head then
    local buf, at = ch.buf, ((ch.head - 1) & ch.mask) + 1
    local v = buf[at]
    buf[at] = nil
    taken(ch)
    local sender = pop_sender(ch)
    if sender ~= nil then
      put(ch, sender.value)
      complete(sender, nil, true)
    end
    if rawequal(v, NIL) then v = nil end
    return v, true, true
  end
  local sender = pop_sender(ch)
  if sender ~= nil then
    local v = sender.value
    complete(sender, nil, true)
    if rawequal(v, NIL) then v = nil end
    return v, true, true
  end
  if ch.closed then return nil, false, true end
  return nil, nil, false
end

local function try_send(ch, v)
  if ch.closed then error('send on a closed channel', 3) end
  if MAILS[ch] ~= nil then error('cannot send on an inbox or a listen channel: use process.send', 3) end
  local receiver = pop_receiver(ch)
  if receiver ~= nil then
    complete(receiver, v, true)
    return true
  end
  local size = ch.size
  if size == nil or buffered(ch) < size then
    put(ch, v == nil and NIL or v)
    return true
  end
  return false
end

--- The oldest value JS queued for fed channel `ch`: true and the value, or false. A mail
--- channel takes what JS holds for it into its Lua queue first (pull_mail, below), and gives
--- the oldest of that queue.
local pull_mail

local function pull_fed(ch)
  local mail = MAILS[ch]
  if mail == nil then
    local got, a, b, c = pull(FED_IDS[ch])
    if got then return true, ch.adapt(a, b, c) end
    return false
  end
  if mail[M_INFLOW] and mail.tail < mail.head then pull_mail(mail) end
  if mail.tail >= mail.head then return true, take_mail(mail) end
  return false
end

-- Channel methods --------------------------------------------------------------------------

function Channel:send(v)
  if try_send(self, v) then return true end
  local w = { fiber = current_fiber(), value = v == nil and NIL or v, done = false }
  push_sender(self, w)
  block(w, nil)
  if w.ok == false then error('send on a closed channel', 2) end
  return true
end

local receive_mail

function Channel:receive()
  local mail = MAILS[self]
  if mail ~= nil then
    if mail.tail >= mail.head then return take_mail(mail), true end
    return receive_mail(mail)
  end
  local v, ok, ready = try_receive(self)
  if ready then return v, ok end
  -- A fed channel is pulled by `block` (with the request to be woken, in one host call).
  local w = { fiber = current_fiber(), done = false }
  push_receiver(self, w)
  block(w, FED_IDS[self] ~= nil and self or nil)
  if rawequal(w.value, NIL) then return nil, w.ok end
  return w.value, w.ok
end

function Channel:close()
  if self.closed then return end
  self.closed = true
  -- A mail channel's receivers wait in its record (see "Mail channels").
  local q = queue_of(self)
  q.closed = true
  local r = pop_receiver(q)
  while r ~= nil do
    complete(r, nil, false)
    r = pop_receiver(q)
  end
  local s = pop_sender(self)
  while s ~= nil do
    complete(s, nil, false)
    s = pop_sender(self)
  end
  if self.on_close ~= nil then self.on_close(self) end
end

function Channel:case_send(v)
  return { channel = self, send = true, value = v }
end

function Channel:case_receive()
  return { channel = self, send = false }
end

--- Number of buffered values (not part of the Lua API contract; used by tests and modules).
function Channel:_buffered()
  return buffered(queue_of(self))
end

--- Whether fed channel `ch` has a receiver waiting (receivers that gave up are dropped first).
local function has_live_receiver(ch)
  local q = ch.recvq
  if q == nil then return false end
  if q.fiber ~= nil then
    if live(q) then return true end
    ch.recvq = nil
    return false
  end
  while q.head <= q.tail and not live(q[q.head]) do
    q[q.head] = nil
    q.head = q.head + 1
  end
  return q.head <= q.tail
end

--- The oldest live receiver waiting on `ch` (a channel, or a mail channel's record), left
--- queued; nil when none waits.
local function oldest_receiver(ch)
  if not has_live_receiver(ch) then return nil end
  local q = ch.recvq
  return q.fiber ~= nil and q or q[q.head]
end

-- What JS queued for a process (mail, events) leaves its queue only for a fiber that runs, and
-- only for that fiber: taken for another fiber's waiter, a value would be lost if the process
-- restarted its code (upgrade) before that fiber ran, since the new code gets the queues, not
-- the old code's waiters. A fiber that finds another fiber's receiver waiting longer wakes it
-- instead. A wake is passed on (`pass_on`) by the fiber that got it: once it took a value, and
-- when its select ended another way. So no receiver is left waiting while what it could take
-- is queued: a send to a queue that holds mail, or JS queuing behind what it holds, wakes nobody.

--- Wakes the oldest receiver waiting on `ch` (a channel, or a mail channel's record), if any.
local function wake_oldest(ch)
  local r = oldest_receiver(ch)
  if r ~= nil then wake(r.fiber) end
end

--- The running fiber is done with a fed channel whose receivers wait in `q` (a mail channel's
--- record, or `plain_fed`: the channel itself): the receiver waiting next is woken if
--- something may be left for it: mail in the Lua queue or held by JS (`inflow`), or anything
--- on a plain fed channel (what JS holds for one is not known here; a receiver woken for
--- nothing waits again).
local function pass_on(q, plain_fed)
  if plain_fed or q.tail >= q.head or q[M_INFLOW] then wake_oldest(q) end
end

--- For a fed channel with a receiver of the running fiber waiting longest: hands it the oldest
--- value JS has queued, if any (see above).
function Channel:_feed()
  local q = queue_of(self)
  local oldest = oldest_receiver(q)
  if oldest == nil then return end
  if oldest.fiber ~= current_fiber() then return wake(oldest.fiber) end
  local got, value = pull_fed(self)
  if not got then return end
  complete(pop_receiver(q), value, true)
  pass_on(q, q == self)
end

--- `_feed`, and with nothing taken, `_await`: one host call for both on a plain fed channel.
--- True when the fiber is to be woken (nothing came), false when a receiver got a value.
function Channel:_feed_or_await()
  if MAILS[self] ~= nil then
    self:_feed()
    return true -- JS wakes a mail channel's receivers by itself (see _await)
  end
  local oldest = oldest_receiver(self)
  if oldest == nil or oldest.fiber ~= current_fiber() then
    if oldest ~= nil then wake(oldest.fiber) end
    self:_await()
    return true
  end
  local got, a, b, c = pull_or_await(FED_IDS[self])
  if not got then return true end
  complete(pop_receiver(self), self.adapt(a, b, c), true)
  pass_on(self, true)
  return false
end

--- For a fiber about to block on fed channel `ch`: JS wakes it when it queues more there. (A
--- mail channel needs no such request: JS wakes its process's blocked fibers when its queue
--- for the channel stops being empty, which is the only time a blocked receiver can gain.)
function Channel:_await()
  if MAILS[self] == nil then await_feed(FED_IDS[self]) end
end

--- Without waiting: moves one value JS has queued into the channel's buffer, if there is one
--- and the buffer is empty (a future's is_complete() looks this way without taking the value).
function Channel:_poll()
  if buffered(self) > 0 then return true end
  local got, a, b, c = pull(FED_IDS[self])
  if not got then return false end
  local v = self.adapt(a, b, c)
  put(self, v == nil and NIL or v)
  return true
end

-- Select -------------------------------------------------------------------------------------

--- Select `sel` is done: its waiters in list `field` of `ch` are stale (skipped when reached).
--- A queue is rebuilt without its stale waiters once they may be half of it: rebuilt at every
--- select's end, a queue that many selects wait on (a `quit` channel every fiber has a case
--- for) cost each select its whole length, quadratic in the waiters.
local function sweep_list(ch, field, sel)
  local q = ch[field]
  if q == nil then return end
  if q.fiber ~= nil then
    if q.sel == sel then ch[field] = nil end
    return
  end
  local stale = (q.stale or 0) + 1
  if stale * 2 <= q.tail - q.head + 1 then
    q.stale = stale
    return
  end
  ch[field] = nil
  for i = q.head, q.tail do
    local w = q[i]
    if w ~= nil and live(w) then push_waiter(ch, field, w) end
  end
end

local function sweep(ch, sel)
  sweep_list(ch, 'recvq', sel)
  sweep_list(ch, 'sendq', sel)
end

local function select(cases)
  if type(cases) ~= 'table' then error('channel.select expects a table of cases', 2) end
  -- Each case is read once, raw, before anything is tried or queued: a case's metamethods, or
  -- fields that change between reads, could otherwise pass the check with one channel and
  -- queue another, or raise halfway and leave waiters behind that take values nobody gets.
  -- (`picked` holds channel, send and value of case i at slots 3i - 2 to 3i.)
  local n = rawlen(cases)
  local picked, fed = {}, nil
  for i = 1, n do
    local case = rawget(cases, i)
    local ch = type(case) == 'table' and rawget(case, 'channel') or nil
    if not rawequal(raw_getmetatable(ch), CHANNEL_MT) then
      error('channel.select: case ' .. i .. ' is not a channel case', 2)
    end
    local at = 3 * i
    picked[at - 2], picked[at - 1], picked[at] = ch, rawget(case, 'send'), rawget(case, 'value')
    if fed_id_of(ch) ~= nil then
      fed = fed or {}
      fed[#fed + 1] = ch
    end
  end
  for i = 1, n do
    local at = 3 * i
    local ch, send, value = picked[at - 2], picked[at - 1], picked[at]
    if send then
      if try_send(ch, value) then return { channel = ch, value = value, ok = true } end
    else
      local v, ok, ready = try_receive(ch)
      if ready then return { channel = ch, value = v, ok = ok } end
      if fed_id_of(ch) ~= nil then
        local got, got_value = pull_fed(ch)
        if got then return { channel = ch, value = got_value, ok = true } end
      end
    end
  end
  if rawget(cases, 'default') then return { default = true, ok = true } end
  if n == 0 then
    if rawget(cases, 'channel') ~= nil then
      error('channel.select expects a list of cases, got one case: write channel.select({ case })', 2)
    end
    error('channel.select with no cases and no default would block forever', 2)
  end

  local sel = { done = false }
  local fiber = current_fiber()
  for i = 1, n do
    local at = 3 * i
    local ch, value = picked[at - 2], picked[at]
    local w = { fiber = fiber, sel = sel, case = i, done = false }
    if picked[at - 1] then
      w.value = value == nil and NIL or value
      push_sender(ch, w)
    else
      push_receiver(queue_of(ch), w)
    end
  end
  block(sel, fed)
  local fired = sel.fired.case
  for i = 1, n do
    if i ~= fired then
      local ch = picked[3 * i - 2]
      local q = queue_of(ch)
      sweep(q, sel)
      -- A wake for this case, which the select did not take, is the next receiver's.
      if not picked[3 * i - 1] and fed_id_of(ch) ~= nil then pass_on(q, q == ch) end
    end
  end
  local at = 3 * fired
  local ch = picked[at - 2]
  if picked[at - 1] then
    if sel.fired.ok == false then error('send on a closed channel', 2) end
    return { channel = ch, value = picked[at], ok = true }
  end
  return { channel = ch, value = handed(sel.fired.value), ok = sel.fired.ok }
end

--- A channel fed by JS: `adapt(a, b, c)` turns one delivery into the value the channel yields.
local function new_fed_channel(kind, adapt, ...)
  local ch = setmetatable({ head = 1, tail = 0, adapt = adapt }, CHANNEL_MT)
  FED_IDS[ch] = host.fed_channel(kind, ...)
  return ch
end

rt.new_fed_channel = new_fed_channel

--- Waits for the one delivery JS makes to fed channel `id` (a plain call's result) and returns
--- its values: no channel object, no waiter record, one host call when it is there already.
function rt.await_fed(id)
  while true do
    local got, a, b, c = pull_or_await(id)
    if got then return a, b, c end
    co_yield(BLOCK)
  end
end

-- Mail channels --------------------------------------------------------------------------------
--
-- A process's inbox and listened topics on a process host: fed channels that processes of this
-- engine also send to directly, without a host call, into a Lua queue (rt.new_send). One
-- rule keeps each sender's order: a direct send is made only while JS holds nothing for the
-- channel (`inflow` false; JS sets it when its queue for the channel stops being empty, a pull
-- that leaves it empty clears it), so everything in the Lua queue is older than everything JS
-- holds, and a receive takes the Lua queue first (a pull appends to it). A process's box, slots
-- 1 and 2 of its group state (count, bytes), counts what its Lua queues hold, for the host's
-- mailbox limits; JS reads it and takes a queue back (rt.mail_drain) when a topic is
-- unlistened or the process restarts its code. A mail kind says what a receive returns: with
-- `mt`, a message {topic, from, bytes, value} of that metatable; else the payload's first
-- value (`first(bytes)` decodes it). `encode` turns a value sent as it is into the encoding JS
-- takes back. The record of a channel (its kind, box and `inflow`) is the kernel's: user code
-- holds the channel, never the record, so it cannot change its limits or the kind every
-- process shares.
--
-- No table is made per queued message: entry i of the Lua queue takes slots 4i-3 to 4i of the
-- channel's buffer: the payload (a value handed over as it is, or its encoding), its size
-- (negative for an encoding), the sender's PID (nil: none) and the topic.

local MAIL = setmetatable({}, { __mode = 'v' }) -- records by channel id, as FED
rt.MAIL = MAIL
-- Processes of this engine that receive mail here, by PID: their state (see rt.mail_register).
local LOCAL_MAIL, PID_OF_GROUP = {}, {}
rt.share(MAIL)
rt.share(LOCAL_MAIL)
rt.share(PID_OF_GROUP)
rt.LOCAL_MAIL = LOCAL_MAIL
local group_state = rt.group_state

--- A mail channel of group `group`, of mail kind `kind`. The channel the process holds is an
--- empty table; its id, its queue (ring fields `buf`, `mask`, `head`, `tail`), its waiting
--- receivers (`recvq`) and whether it is closed are its record's, which only the kernel
--- reaches. Other processes' sends write there: in a table the receiver could write to, they
--- would run what the receiver put there (a metatable) as the sender, and size the host's ring
--- by what it wrote. (Few fields: every idle process has one.)
function rt.new_mail_channel(group, kind)
  local id = host.mail_channel()
  local ch = setmetatable({}, CHANNEL_MT)
  local mail = { kind, group_state(group), false, id, head = 1, tail = 0 }
  MAILS[ch], MAIL[id] = mail, mail
  return ch
end

--- Takes the oldest entry of the Lua queue of mail channel record `mail` (there is one),
--- uncounts it and returns what a receive returns (inline: a receive's hot path).
take_mail = function(mail)
  local buf, head = mail.buf, mail.head
  local at = ((head - 1) & mail.mask) * 4
  local payload, size, from, topic = buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]
  -- Charged and made before the entry is taken: one the receiver has no room for stays queued.
  if size < 0 and #payload > SHORT_STRING then charge_to_running(payload) end
  local mt, value = mail[M_KIND].mt, payload
  if mt ~= nil then
    value = size < 0 and setmetatable({ topic, from, payload }, mt)
      or setmetatable({ topic, from, nil, payload }, mt)
  elseif size < 0 then
    value = mail[M_KIND].first(payload)
  end
  buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4] = nil, nil, nil, nil
  -- As `taken` does, inline (a call more per receive cost a ping-pong 4–6%).
  if head == mail.tail then
    mail.head, mail.tail = 1, 0
    if mail.mask >= LARGE_RING then mail.buf, mail.mask = nil, nil end
  else
    mail.head = head + 1
  end
  local box = mail[M_BOX]
  box[1], box[2] = box[1] - 1, box[2] - (size < 0 and -size or size)
  return value
end

-- What one pull takes at most: messages, and bytes past which it takes no more (the process's
-- memory limit counts what it holds; big messages come one at a time).
local PULL_MESSAGES, PULL_BYTES = 256, 64 * 1024
local math_min = math.min

--- JS holds mail for mail channel record `mail`: moves it (up to a batch) to the end of the Lua
--- queue, which is older (so the order holds), and counts it there.
pull_mail = function(mail)
  local box, messages, held, more = mail[M_BOX], 0, 0, true
  while more and messages < PULL_MESSAGES and held < PULL_BYTES do
    -- JS writes entries one after the other from the slot after the last, as many as fit
    -- before the ring's end; a full ring grows (doubling) for the next ones.
    local buf = room_for(mail, 4, 1)
    local tail = mail.tail
    local room = math_min(mail.mask + 1 - tail, PULL_MESSAGES - messages)
    local count, bytes
    count, bytes, more = host.pull_mail(mail[M_ID], buf, tail * 4 + 1, room, PULL_BYTES - held)
    mail.tail = tail + count
    box[1], box[2] = box[1] + count, box[2] + bytes
    messages, held = messages + count, held + bytes
    if count < room then break end
  end
  if not more then mail[M_INFLOW] = false end
end

--- Woken while waiter `w` waits on mail channel record `mail`: takes what JS holds for the
--- channel, then the oldest entry when `w` has waited longest (see `wake_oldest`).
local function take_waiting(mail, w)
  if mail[M_INFLOW] then pull_mail(mail) end
  if mail.tail < mail.head then return end
  local oldest = oldest_receiver(mail)
  if oldest ~= w then return wake(oldest.fiber) end
  local value = take_mail(mail)
  pop_receiver(mail)
  w.value, w.ok, w.done = value, true, true
  pass_on(mail, false)
end

--- Channel:receive on the mail channel of record `mail`: its Lua queue, else what JS holds,
--- else wait. (No process blocks sending to a mail channel, and JS wakes the process's blocked
--- fibers when it starts holding mail for the channel: a waiting receiver looks then; so does
--- one that a direct send woke, see rt.new_send.)
receive_mail = function(mail)
  if mail[M_INFLOW] and mail.tail < mail.head then pull_mail(mail) end
  if mail.tail >= mail.head then return take_mail(mail), true end
  if mail.closed then return nil, false end
  local w = { fiber = current_fiber(), done = false }
  push_receiver(mail, w)
  -- Taking what came may fail (no memory to make it; it stays queued): the waiter must not be
  -- left queued then, or it would take the next message, which nobody receives.
  repeat
    co_yield(BLOCK)
    if not w.done then
      if mail.recvq == w then
        -- The only receiver waiting (the common case) stops waiting before it takes.
        w.done, mail.recvq = true, nil
        if mail[M_INFLOW] and mail.tail < mail.head then pull_mail(mail) end
        if mail.tail >= mail.head then return take_mail(mail), true end
        if mail.closed then return nil, false end
        w.done, mail.recvq = false, w -- a wake with nothing for it: it waits again
      else
        local took, err = pcall(take_waiting, mail, w)
        if not took and not w.done then
          w.done = true
          pass_on(mail, false) -- what it had no room for may be the next receiver's
          error(err, 0)
        end
      end
    end
  until w.done
  return w.value, w.ok
end

-- Topics that passed a send's checks, so that a send to a process of this engine (a PID in
-- LOCAL_MAIL is a valid destination) checks nothing again. Emptied when it passes
-- CHECKED_TOPICS_MAX: a process that sends to ever new topics keeps it small.
-- (Shared: every process of the engine fills it.)
local function checked_topics_table()
  local topics = {}
  rt.share(topics)
  return topics
end
local CHECKED_TOPICS, checked_topics, CHECKED_TOPICS_MAX = checked_topics_table(), 0, 256
-- The PID of the process running each thread (a fiber or a coroutine of one), asked once.
local PID_OF = rt.THREAD_LOCAL
local co_running = coroutine.running

--- process.send (docs/lua-api/process.md), made for the process module, which gives what is
--- its own: `check(dest, topic)`, the error of a destination or topic no send may take (nil:
--- none); `encode(...)`, a payload's encoding (nil and the error when it has none);
--- `through_host(dest, topic, encoding)`, a send through TypeScript, which routes it anywhere
--- and says why it refuses; `own_pid()`, the running process's PID; and `limits`, the host's
--- {messages, bytes, message size} a direct send stays within (filled before any process
--- registers for direct mail).
---
--- Mail to a process of this engine goes straight to the end of its mail channel's Lua queue,
--- in this one function (a send's hot path: a call more per message cost a ping-pong 5%), and
--- wakes its oldest waiting receiver when the queue was empty. It goes through TypeScript
--- instead while JS holds mail for the channel (received first: see "Mail channels"), once
--- the channel is closed, and past the receiver's limits. One number, boolean or short string
--- travels as it is (Lua never changes those in place); anything else as its encoding,
--- decoded by the receiver: it never sees what the sender changes later. The sender reads and
--- writes the channel's record only (see rt.new_mail_channel), never what the receiver holds;
--- the receiver makes what its receive returns (a message, a decoded payload) itself, on its
--- own memory (made here, it would be the sender's, and a failure to decode it would lose the
--- message). An encoding is charged to the host while it is queued, to the receiver once taken.
function rt.new_send(check, encode, through_host, own_pid, limits)
  return function(dest, topic, ...)
    local receiver = LOCAL_MAIL[dest]
    if receiver == nil or not CHECKED_TOPICS[topic] then
      local err = check(dest, topic)
      if err ~= nil then return nil, err end
      if receiver ~= nil then
        if checked_topics >= CHECKED_TOPICS_MAX then CHECKED_TOPICS, checked_topics = checked_topics_table(), 0 end
        CHECKED_TOPICS[topic], checked_topics = true, checked_topics + 1
      end
    end
    if receiver ~= nil then
      local listens = receiver.listens
      local ch = listens ~= nil and listens[topic] or receiver.inbox
      if ch ~= nil then
        local payload, size
        if select_n('#', ...) == 1 then
          payload = (...)
          -- What a value handed over as it is counts for: at most what its encoding would take.
          local t = type(payload)
          if t == 'number' then
            size = 10
          elseif t == 'string' then
            -- A long string is encoded, a copy: handed over as it is, the sender and the
            -- receiver would share it, and one of them hold it uncharged (see SHORT_STRING).
            if #payload <= SHORT_STRING then size = #payload + 6 end
          elseif t == 'boolean' then
            size = 2
          end
        end
        local encoded = size == nil
        if encoded then
          local err
          payload, err = encode(...)
          if payload == nil then return nil, err end
          size = #payload
        end
        size = size + #topic
        local mail = MAILS[ch]
        local box = mail[M_BOX]
        local count, held = box[1], box[2] + size
        if size <= limits[3] and count < limits[1] and held <= limits[2]
          and not mail[M_INFLOW] and not mail.closed then
          local thread = co_running()
          local from = PID_OF[thread]
          if from == nil then
            from = own_pid()
            PID_OF[thread] = from
          end
          local buf, head, tail = mail.buf, mail.head, mail.tail
          if buf == nil or tail - head >= mail.mask then
            buf = room_for(mail, 4, 1, true)
            head, tail = mail.head, mail.tail
          end
          local at = (tail & mail.mask) * 4
          mail.tail = tail + 1
          buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4] = payload, encoded and -size or size, from, topic
          box[1], box[2] = count + 1, held
          if encoded and #payload > SHORT_STRING then charge_to_host(payload) end
          -- Receivers wait only while the queue is empty: the one woken for its first entry
          -- wakes the next while entries are left (see `wake_oldest`), so later entries wake
          -- nobody. (Inline: a window-1 ping-pong wakes a receiver at every message.)
          if tail < head and mail.recvq ~= nil and has_live_receiver(mail) then
            local q = mail.recvq
            wake((q.fiber ~= nil and q or q[q.head]).fiber)
          end
          return true
        end
        return through_host(dest, topic, encoded and payload or encode(payload))
      end
    end
    local payload, err = encode(...)
    if payload == nil then return nil, err end
    return through_host(dest, topic, payload)
  end
end

--- Takes everything in mail channel `id`'s Lua queue, oldest first, as the msgpack list
--- {topic, from or false, payload, ...}; nothing when the channel is gone or that is empty.
function rt.mail_drain(id)
  local mail = MAIL[id]
  if mail == nil or mail.tail < mail.head then return nil end
  local parts, n, bytes, encode = {}, 0, 0, mail[M_KIND].encode
  local buf, mask = mail.buf, mail.mask
  for i = mail.head, mail.tail do
    local at = ((i - 1) & mask) * 4
    local payload, size = buf[at + 1], buf[at + 2]
    if size < 0 then
      size = -size
    else
      payload = encode(payload)
    end
    parts[n + 1], parts[n + 2], parts[n + 3] = buf[at + 4], buf[at + 3] or false, payload
    n, bytes = n + 3, bytes + size
  end
  -- What JS takes back it counts itself from now on.
  mail.buf, mail.mask, mail.head, mail.tail = nil, nil, 1, 0
  local box = mail[M_BOX]
  box[1], box[2] = box[1] - n // 3, box[2] - bytes
  return rt.codec.encode(parts)
end

--- Mail to `pid` from processes of this engine goes straight to `state` (its process's state,
--- whose `inbox` and `listens` are mail channels) while group `group` runs.
function rt.mail_register(pid, group, state)
  LOCAL_MAIL[pid] = state
  PID_OF_GROUP[group] = pid
end

--- Group `group` ended: its mail goes nowhere any more (sends fall back to TypeScript).
function rt.mail_forget(group)
  local pid = PID_OF_GROUP[group]
  if pid ~= nil then
    PID_OF_GROUP[group] = nil
    LOCAL_MAIL[pid] = nil
  end
end

rt.channel = {
  new = function(size)
    if size ~= nil and (math.type(size) ~= 'integer' or size < 0) then
      error('channel.new expects a size ≥ 0', 2)
    end
    return new_channel(size or 0)
  end,
  select = select,
}
