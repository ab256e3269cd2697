-- Channels (docs/lua-api/channel.md): unbuffered (size 0) hand-off or buffered FIFO, closable,
-- with select over several cases where the first ready case in list order wins.
--
-- Waiters are small tables {fiber, done, value, ok} queued on a channel. A select queues one
-- waiter per case, all sharing a `sel` record; the first case to fire marks the selection done
-- and the other waiters become stale: they are skipped when reached and swept afterwards.
-- Fed channels (inbox, events, listen, timers, futures) have JS as their only sender, and what
-- JS sends stays queued there until a receiver takes it, one value at a time: nothing waits in a
-- Lua buffer, so JS always knows (and limits) what a process has not received, and a process
-- that restarts its code (upgrade) loses none of it.
local host, rt = ...

local setmetatable, error, type = setmetatable, error, type
local raw_getmetatable = debug.getmetatable
local block, wake, current_fiber, pull = rt.block, host.wake, host.fiber, host.pull

local NIL = setmetatable({}, { __name = 'nil in channel' })

-- Methods and metatable apart: with `Channel.__index = Channel`, `ch.__index` would hand out
-- the method table every process of the host shares.
local Channel = {}
local CHANNEL_MT = { __index = Channel, __name = 'channel', __metatable = false }

-- The buffer and the two waiter queues are made on first use: most channels of an idle process
-- (its inbox, its events) never need them.
local function new_channel(size)
  return setmetatable({
    size = size, head = 1, tail = 0, rhead = 1, rtail = 0, shead = 1, stail = 0, closed = false,
  }, CHANNEL_MT)
end

local function buffer_of(ch)
  local buf = ch.buf
  if buf == nil then
    buf = {}
    ch.buf = buf
  end
  return buf
end

-- Queues -----------------------------------------------------------------------------------

local function live(waiter)
  local sel = waiter.sel
  return sel == nil or not sel.done
end

local function pop_receiver(ch)
  local q = ch.recvq
  if q == nil then return nil end
  while ch.rhead <= ch.rtail do
    local w = q[ch.rhead]
    q[ch.rhead] = nil
    ch.rhead = ch.rhead + 1
    if live(w) then return w end
  end
  return nil
end

local function pop_sender(ch)
  local q = ch.sendq
  if q == nil then return nil end
  while ch.shead <= ch.stail do
    local w = q[ch.shead]
    q[ch.shead] = nil
    ch.shead = ch.shead + 1
    if live(w) then return w end
  end
  return nil
end

local function push_receiver(ch, w)
  local q = ch.recvq
  if q == nil then
    q = {}
    ch.recvq = q
  end
  ch.rtail = ch.rtail + 1
  q[ch.rtail] = w
end

local function push_sender(ch, w)
  local q = ch.sendq
  if q == nil then
    q = {}
    ch.sendq = q
  end
  ch.stail = ch.stail + 1
  q[ch.stail] = w
end

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

--- value, ok, ready: `ready` is false when a receive would have to wait.
local function try_receive(ch)
  if ch.tail >= ch.head then
    local v = ch.buf[ch.head]
    ch.buf[ch.head] = nil
    ch.head = ch.head + 1
    local sender = pop_sender(ch)
    if sender ~= nil then
      ch.tail = ch.tail + 1
      ch.buf[ch.tail] = sender.value
      complete(sender, nil, true)
    end
    if v == NIL then v = nil end
    return v, true, true
  end
  local sender = pop_sender(ch)
  if sender ~= nil then
    local v = sender.value
    complete(sender, nil, true)
    if v == NIL then v = nil end
    return v, true, true
  end
  if ch.closed then return nil, false, true end
  return nil, nil, false
end

local function try_send(ch, v)
  if ch.closed then error('send on a closed channel', 3) end
  local receiver = pop_receiver(ch)
  if receiver ~= nil then
    complete(receiver, v, true)
    return true
  end
  if buffered(ch) < ch.size then
    ch.tail = ch.tail + 1
    buffer_of(ch)[ch.tail] = v == nil and NIL or v
    return true
  end
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

function Channel:receive()
  local v, ok, ready = try_receive(self)
  if ready then return v, ok end
  local id = self.fed_id
  if id ~= nil then
    local got, a, b, c = pull(id)
    if got then return self.adapt(a, b, c), true end
  end
  local w = { fiber = current_fiber(), done = false }
  push_receiver(self, w)
  block(w, id ~= nil and { self } or nil)
  if w.value == NIL then return nil, w.ok end
  return w.value, w.ok
end

function Channel:close()
  if self.closed then return end
  self.closed = true
  local r = pop_receiver(self)
  while r ~= nil do
    complete(r, nil, false)
    r = pop_receiver(self)
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
  return buffered(self)
end

--- For a fed channel with a receiver waiting: hands it the oldest value JS has queued, if any.
function Channel:_feed()
  local q = self.recvq
  if q == nil then return end
  while self.rhead <= self.rtail and not live(q[self.rhead]) do
    q[self.rhead] = nil
    self.rhead = self.rhead + 1
  end
  if self.rhead > self.rtail then return end
  local got, a, b, c = pull(self.fed_id)
  if got then complete(pop_receiver(self), self.adapt(a, b, c), true) end
end

--- Without waiting: moves one value JS has queued into the channel's buffer, if there is one
--- and the buffer is empty (a future's is_complete() looks this way without taking the value).
function Channel:_poll()
  if buffered(self) > 0 then return true end
  local got, a, b, c = pull(self.fed_id)
  if not got then return false end
  self.tail = self.tail + 1
  local v = self.adapt(a, b, c)
  buffer_of(self)[self.tail] = v == nil and NIL or v
  return true
end

-- Select -------------------------------------------------------------------------------------

local function sweep(ch, sel)
  local function compact(q, head, tail)
    if q == nil then return nil, 0 end
    local kept, n = {}, 0
    for i = head, tail do
      local w = q[i]
      if w ~= nil and w.sel ~= sel then
        n = n + 1
        kept[n] = w
      end
    end
    return kept, n
  end
  ch.recvq, ch.rtail = compact(ch.recvq, ch.rhead, ch.rtail)
  ch.rhead = 1
  ch.sendq, ch.stail = compact(ch.sendq, ch.shead, ch.stail)
  ch.shead = 1
end

local function select(cases)
  if type(cases) ~= 'table' then error('channel.select expects a table of cases', 2) end
  local n = #cases
  local fed
  for i = 1, n do
    local case = cases[i]
    if type(case) ~= 'table' or raw_getmetatable(case.channel) ~= CHANNEL_MT then
      error('channel.select: case ' .. i .. ' is not a channel case', 2)
    end
    local ch = case.channel
    if ch.fed_id ~= nil then
      fed = fed or {}
      fed[#fed + 1] = ch
    end
  end
  for i = 1, n do
    local case = cases[i]
    if case.send then
      if try_send(case.channel, case.value) then
        return { channel = case.channel, value = case.value, ok = true }
      end
    else
      local ch = case.channel
      local v, ok, ready = try_receive(ch)
      if ready then return { channel = ch, value = v, ok = ok } end
      if ch.fed_id ~= nil then
        local got, a, b, c = pull(ch.fed_id)
        if got then return { channel = ch, value = ch.adapt(a, b, c), ok = true } end
      end
    end
  end
  if cases.default then return { default = true, ok = true } end
  if n == 0 then error('channel.select with no cases and no default would block forever', 2) end

  local sel = { done = false }
  local fiber = current_fiber()
  for i = 1, n do
    local case = cases[i]
    local w = { fiber = fiber, sel = sel, case = case, done = false }
    if case.send then
      w.value = case.value == nil and NIL or case.value
      push_sender(case.channel, w)
    else
      push_receiver(case.channel, w)
    end
  end
  block(sel, fed)
  local fired = sel.fired
  for i = 1, n do
    local ch = cases[i].channel
    if cases[i] ~= fired.case then sweep(ch, sel) end
  end
  local case = fired.case
  if case.send then
    if fired.ok == false then error('send on a closed channel', 2) end
    return { channel = case.channel, value = case.value, ok = true }
  end
  local v = fired.value
  if v == NIL then v = nil end
  return { channel = case.channel, value = v, ok = fired.ok }
end

--- A channel fed by JS: `adapt(a, b, c)` turns one delivery into the value the channel yields.
local function new_fed_channel(kind, adapt, ...)
  local ch = new_channel(math.huge)
  ch.fed_id = host.fed_channel(kind, ...)
  ch.adapt = adapt
  rt.FED[ch.fed_id] = ch
  return ch
end

rt.new_fed_channel = new_fed_channel
rt.channel = {
  new = function(size)
    if size ~= nil and (math.type(size) ~= 'integer' or size < 0) then
      error('channel.new expects a size ≥ 0', 2)
    end
    return new_channel(size or 0)
  end,
  select = select,
}
