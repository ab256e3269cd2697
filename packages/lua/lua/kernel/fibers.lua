-- Fibers: the Lua side of the JS scheduler.
--
-- Every fiber is a Lua thread resumed by the scheduler in TypeScript. A fiber that cannot go on
-- yields the sentinel BLOCK after recording what it waits for; whoever makes its wait true calls
-- host.wake(fiber). Waits are always re-checked after a wake, so a stale or duplicate wake only
-- costs a resume. Values that JS produces for a process (messages, events, timer ticks, call
-- results) arrive through "fed" channels: JS keeps them queued per channel until a receiver
-- takes one, and wakes a fiber blocked on the channel when it queues more.
--
-- A yield from the instruction-count hook (preemption) carries no values. Inside a user's own
-- coroutine such a yield, and a BLOCK, would otherwise surface as a user-level yield; the
-- wrapped coroutine.resume below recognises them and passes them out to the scheduler, then
-- resumes the inner coroutine with the scheduler's answer.
local host, rt = ...

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_running, co_isyieldable = coroutine.status, coroutine.running, coroutine.isyieldable
local co_close = coroutine.close
local error, type = error, type
-- What user code yields or raises is compared with the kernel's sentinels raw: `==` would run a
-- `__eq` its metatable planted, handing it the sentinel.
local rawequal = rawequal
local table_pack, table_unpack = table.pack, table.unpack

local BLOCK, PREEMPT = host.BLOCK, host.PREEMPT
local current_fiber, take_preempt = host.fiber, host.take_preempt

local TERMINATED, raise_terminated = host.TERMINATED, host.raise_terminated
rt.TERMINATED = TERMINATED

-- Tables of the kernel that every process of the engine fills (by fiber, group, channel,
-- message) grow at the host's charge: `share` marks them. Grown by whichever process's store
-- happened to need room, they would be charged to it, and a process near its memory limit
-- would fail (and make the next, and the next, collect everything first) for all the others.
rt.share = host.share

--- One look at what JS queued for `fed` (see block).
local function feed(wait, fed)
  if fed._feed ~= nil then
    local awaiting = fed:_feed_or_await()
    if wait.done then return end
    if not awaiting then fed:_await() end
  else
    for i = 1, #fed do
      fed[i]:_feed()
      if wait.done then return end
    end
    for i = 1, #fed do fed[i]:_await() end
  end
end

--- Suspends the current fiber until `wait.done` is true. `fed` is the fed channel, or the list
--- of fed channels, whose deliveries can satisfy the wait: what JS queued for them is tried
--- first, and the scheduler is asked to wake this fiber when JS queues more for any of them.
--- (One channel is passed as it is: a receive blocks often, and a list per block adds up.)
local function block(wait, fed)
  while not wait.done do
    if fed ~= nil then
      -- Taking a delivery may fail (no memory to make what it becomes; it stays queued): the
      -- wait ends then, unless it was met first, so that the waiters it queued are skipped,
      -- not handed what nobody receives. (Only the look is protected: a yield inside a pcall
      -- costs a C++ exception, microseconds.)
      local looked, err = pcall(feed, wait, fed)
      if not looked then
        if wait.done then return end
        wait.done = true
        error(err, 0)
      end
      if wait.done then return end
    end
    co_yield(BLOCK)
  end
end
rt.block = block

-- The ids of the fiber running on a thread and of its group (its process), which TypeScript
-- writes into the thread when it gives it to a fiber: nothing for a coroutine (inside a fiber,
-- which fiber runs it is asked of JS: another fiber of its process may resume it).
local fiber_ids = host.fiber_ids

--- The id of the running fiber (the one the scheduler resumed, even inside user coroutines)
--- and of its group.
local function fiber()
  local id, group = fiber_ids()
  if id ~= nil then return id, group end
  id, group = current_fiber()
  return id, group
end
rt.fiber = fiber

-- Per-process state of the kernel and modules (library instances, channels, a seeded random
-- generator), by group id; dropped when the group ends. Slots 1 and 2 are the process's mail
-- box, the messages and bytes its mail channels' queues hold (channel.lua), which TypeScript
-- reads (GROUP_STATE[group], luact_boxcounts).
local GROUP_STATE = {}
rt.share(GROUP_STATE)
rt.GROUP_STATE = GROUP_STATE

function rt.group_state(group)
  local state = GROUP_STATE[group]
  if state == nil then
    state = { 0, 0 }
    GROUP_STATE[group] = state
    -- Only groups with state need dropping when they end.
    host.group_has_state()
  end
  return state
end

function rt.drop_group(group)
  GROUP_STATE[group] = nil
  rt.mail_forget(group)
end

-- Wrapped coroutine library for user code -------------------------------------------------

-- Coroutines a fiber waits in (a block or a preemption passing through them to the
-- scheduler): suspended, but not for another fiber of the process to resume or close. Resumed
-- by another, it would run on a stack the waiting fiber still counts as its own; closed, its
-- waiter would stay queued and take a value nobody receives.
local WAITED_IN = setmetatable({}, { __mode = 'k' })
rt.share(WAITED_IN)

--- co_resume(co, ...) once the fiber waiting in `co` is back: `co` is anyone's again.
local function resume_waited(co, ...)
  WAITED_IN[co] = nil
  return table_pack(co_resume(co, ...))
end

local function pass_through(co, result)
  -- result = table.pack(co_resume(...)) of a coroutine that yielded
  while result[1] and co_status(co) == 'suspended' do
    local first = result[2]
    if rawequal(first, BLOCK) or rawequal(first, PREEMPT) then
      WAITED_IN[co] = true
      result = resume_waited(co, co_yield(first))
    elseif result.n == 1 and take_preempt() then
      WAITED_IN[co] = true
      co_yield(PREEMPT)
      result = resume_waited(co)
    else
      break
    end
  end
  -- The process was terminated (or stopped) while the coroutine ran: it ends, as through a
  -- pcall. Handed back as an error, it would let the caller run on, in a coroutine of its own
  -- with an instruction count of its own, for as long as it liked; raised again here, its
  -- __close handlers and the code it unwinds to are stopped at their first instruction too.
  if not result[1] and rawequal(result[2], TERMINATED) then raise_terminated() end
  return table_unpack(result, 1, result.n)
end

-- A fiber's own thread (coroutine.running() in it) is the scheduler's to resume and end.
local NOT_YOURS = 'cannot resume or close a fiber (coroutine.spawn and the process run it)'
local WAITED = 'cannot resume or close a coroutine that another fiber is waiting in'

--- What co_resume(co, ...) gave, handed on: at once when the coroutine yielded or returned a
--- value of its own (BLOCK and PREEMPT are light userdata: `==` compares them raw, as no
--- `__eq` runs between values of different types), else through pass_through, which packs
--- them (a table a resume: a generator's step took 10× the engine's).
local function resumed(co, ...)
  local ok, first = ...
  if ok and first ~= nil and first ~= BLOCK and first ~= PREEMPT then return ... end
  return pass_through(co, table_pack(...))
end

--- Lua's own error for what is no coroutine, at the caller's line (co_resume and co_close would
--- name themselves, in the kernel).
local function expect_coroutine(co, what)
  if type(co) ~= 'thread' then
    error("bad argument #1 to '" .. what .. "' (coroutine expected)", 3)
  end
end

local function resume(co, ...)
  expect_coroutine(co, 'resume')
  if fiber_ids(co) ~= nil then return false, NOT_YOURS end
  if WAITED_IN[co] then return false, WAITED end
  return resumed(co, co_resume(co, ...))
end

local function close(co)
  expect_coroutine(co, 'close')
  if fiber_ids(co) ~= nil then return false, NOT_YOURS end
  if WAITED_IN[co] then return false, WAITED end
  -- A __close handler it ran may have been stopped by the termination (see pass_through).
  local ok, err = co_close(co)
  if not ok and rawequal(err, TERMINATED) then raise_terminated() end
  return ok, err
end

--- A wrapped coroutine's results: its values, or its error raised again.
local function unwrapped(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

local function wrap(fn)
  if type(fn) ~= 'function' then error("bad argument #1 to 'wrap' (function expected)", 2) end
  local co = co_create(fn)
  return function(...) return unwrapped(resume(co, ...)) end
end

--- Whether the running thread is a fiber itself, not a coroutine inside one.
local function at_fiber_top()
  return fiber_ids() ~= nil
end

local function yield(...)
  if at_fiber_top() then error('attempt to yield from outside a coroutine', 2) end
  return co_yield(...)
end

local function isyieldable()
  return not at_fiber_top() and co_isyieldable()
end

local running_fiber = host.running_fiber

local function running()
  local co, main = co_running()
  return co, main or running_fiber()
end

rt.coroutine = {
  create = co_create,
  resume = resume,
  wrap = wrap,
  yield = yield,
  status = co_status,
  running = running,
  isyieldable = isyieldable,
  close = close,
  --- Starts `fn` as another fiber of the running process; an error in it fails the process.
  spawn = function(fn, ...)
    if type(fn) ~= 'function' then error('coroutine.spawn expects a function, got ' .. type(fn), 2) end
    return host.spawn_fiber(fn, ...)
  end,
}

-- What modules remember per thread for the process running it (process.lua: its PID). A
-- thread can run another process's fiber after its own returned (the VM reuses threads), so a
-- fiber's start forgets what the thread held.
local THREAD_LOCAL = setmetatable({}, { __mode = 'k' })
rt.share(THREAD_LOCAL)
rt.THREAD_LOCAL = THREAD_LOCAL

local function fiber_starts()
  THREAD_LOCAL[co_running()] = nil
end
rt.fiber_starts = fiber_starts

--- The body of every spawned fiber.
function rt.run_fiber(fn, ...)
  fiber_starts()
  return fn(...)
end

