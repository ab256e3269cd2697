-- coroutine.spawn (fibers of one process) and the user's own coroutines, which must keep
-- working when a blocking call happens inside them.
local t = require("t")
local time = require("time")

local function worker_pool_of_spawned_coroutines_over_channels()
  local jobs, results = channel.new(), channel.new()
  local done = channel.new(4)
  for w = 1, 4 do
    coroutine.spawn(function()
      while true do
        local job, ok = jobs:receive()
        if not ok then break end
        time.sleep("1ms")
        results:send({ job = job, square = job * job, worker = w })
      end
      done:send(w)
    end)
  end
  coroutine.spawn(function()
    for i = 1, 40 do jobs:send(i) end
    jobs:close()
  end)
  local total, workers = 0, {}
  for _ = 1, 40 do
    local r = t.receive(results, "a result")
    total = total + r.square
    workers[r.worker] = true
  end
  t.eq(total, 22140, "sum of the squares of 1..40")
  local finished = 0
  for _ = 1, 4 do
    t.receive(done, "a worker finishing after close")
    finished = finished + 1
  end
  t.eq(finished, 4, "workers that ended when the jobs channel closed")
  local count = 0
  for _ in pairs(workers) do count = count + 1 end
  t.ge(count, 2, "workers that did some of the jobs")
end

local function spawned_coroutines_sleep_concurrently()
  -- Concurrent sleeps overlap: every coroutine is asleep before the first wakes. Shown by the
  -- order of events, not by the time it all took, which a loaded machine stretches.
  local done = channel.new(3)
  local order = {}
  local t0 = time.now()
  for i = 1, 3 do
    coroutine.spawn(function()
      order[#order + 1] = "asleep"
      time.sleep("100ms")
      order[#order + 1] = "awake"
      done:send(i)
    end)
  end
  for i = 1, 3 do t.receive(done, "sleeper " .. i, "10s") end
  t.eq(order, { "asleep", "asleep", "asleep", "awake", "awake", "awake" }, "three sleeps at once")
  t.ge(t.ms_since(t0), 95, "ms for three 100 ms sleeps in three coroutines")
end

local function user_coroutines_create_resume_yield_status_and_wrap()
  local co = coroutine.create(function(a, b)
    local c = coroutine.yield(a + b)
    local d, e = coroutine.yield(c * 2)
    return d .. e
  end)
  t.eq(coroutine.status(co), "suspended", "status before the first resume")
  t.eq({ coroutine.resume(co, 1, 2) }, { true, 3 }, "first resume")
  t.eq({ coroutine.resume(co, 10) }, { true, 20 }, "second resume")
  t.eq({ coroutine.resume(co, "x", "y") }, { true, "xy" }, "last resume")
  t.eq(coroutine.status(co), "dead", "status at the end")
  local ok, err = coroutine.resume(co)
  t.eq(ok, false, "resuming a dead coroutine fails")
  t.contains(tostring(err), "dead", "its error")

  local gen = coroutine.wrap(function()
    for i = 1, 3 do coroutine.yield(i) end
    return "end"
  end)
  t.eq({ gen(), gen(), gen(), gen() }, { 1, 2, 3, "end" }, "values of a wrapped generator")

  local failing = coroutine.create(function() error("inside the coroutine") end)
  local fok, ferr = coroutine.resume(failing)
  t.eq(fok, false, "resume of a failing coroutine")
  t.contains(tostring(ferr), "inside the coroutine", "its error")
  t.raises(coroutine.wrap(function() error("wrapped failure") end), "wrapped failure", "a failing wrapped coroutine")
  t.raises(function() coroutine.spawn(nil) end, "coroutine.spawn expects a function, got nil",
    "spawn of something that is not a function says what it got")
  t.raises(function() process.listen(nil) end, "process.listen expects a topic string, got nil",
    "listen without a topic says what it got")

  local inner
  inner = coroutine.create(function()
    t.eq(coroutine.status(inner), "running", "status inside")
    t.eq(coroutine.isyieldable(), true, "isyieldable inside a user coroutine")
    coroutine.yield()
  end)
  t.eq({ coroutine.resume(inner) }, { true }, "resume of a coroutine that checks itself")
  t.eq(coroutine.status(inner), "suspended", "status after a yield")
end

local function user_coroutines_work_across_blocking_calls()
  local ch = channel.new()
  coroutine.spawn(function()
    time.sleep("5ms")
    ch:send("from a fiber")
  end)
  local co = coroutine.create(function(first)
    local got = ch:receive()
    time.sleep("5ms")
    local next_value = coroutine.yield(first .. "+" .. got)
    time.sleep("1ms")
    return next_value * 2
  end)
  local ok1, v1 = coroutine.resume(co, "start")
  t.eq({ ok1, v1 }, { true, "start+from a fiber" }, "resume across a receive and a sleep")
  t.eq(coroutine.status(co), "suspended", "status after the user yield")
  local ok2, v2 = coroutine.resume(co, 21)
  t.eq({ ok2, v2 }, { true, 42 }, "resume across another sleep")
  t.eq(coroutine.status(co), "dead", "status at the end")

  local ticker = coroutine.wrap(function()
    for i = 1, 3 do
      time.sleep("2ms")
      coroutine.yield(i)
    end
  end)
  t.eq({ ticker(), ticker(), ticker() }, { 1, 2, 3 }, "a wrapped generator that sleeps between values")

  local nested = coroutine.wrap(function()
    local inner = coroutine.wrap(function()
      local inbox_value = process.inbox():receive():payload():data()
      coroutine.yield(inbox_value)
    end)
    coroutine.yield(inner())
  end)
  process.send(process.pid(), "n", "through two coroutines")
  t.eq(nested(), "through two coroutines", "a receive inside a coroutine inside a coroutine")
end

local function top_level_coroutine_yield_is_refused()
  local ok, err = pcall(coroutine.yield, 1)
  t.eq(ok, false, "coroutine.yield outside a coroutine fails")
  t.contains(tostring(err), "outside a coroutine", "its error")
end

local function a_fiber_is_not_resumed_or_closed_from_lua()
  local main = coroutine.running()
  local answers = channel.new(1)
  coroutine.spawn(function()
    local resumed = { coroutine.resume(main) }
    local closed = { coroutine.close(main) }
    answers:send({ resumed = resumed, closed = closed, status = coroutine.status(main) })
  end)
  local got = answers:receive() -- the main fiber waits here while the other tries
  t.eq(got.resumed[1], false, "coroutine.resume of another fiber")
  t.contains(got.resumed[2], "cannot resume or close a fiber", "its error")
  t.eq(got.closed[1], false, "coroutine.close of another fiber")
  t.eq(got.status, "suspended", "the fiber, waiting")
  t.eq(coroutine.status(main), "running", "and running again after it")
end

local function resume_close_or_wrap_of_a_wrong_value_names_the_caller()
  for _, what in ipairs({ "resume", "close" }) do
    for _, value in ipairs({ false, 42, "co", {} }) do
      local ok, err = pcall(function()
        local result = coroutine[what](value)
        return result
      end)
      t.eq(ok, false, "coroutine." .. what .. " of a " .. type(value))
      t.contains(err, "bad argument #1 to '" .. what .. "' (coroutine expected)", "its error")
      -- Where the caller called it, as Lua's own coroutine library says, not in the kernel.
      t.contains(err, "coroutines.lua:", "its place")
    end
  end
  local ok, err = pcall(function()
    local generator = coroutine.wrap(42)
    return generator
  end)
  t.eq(ok, false, "coroutine.wrap of a number")
  t.contains(err, "bad argument #1 to 'wrap' (function expected)", "its error")
  t.contains(err, "coroutines.lua:", "its place")
end

return {
  a_fiber_is_not_resumed_or_closed_from_lua = a_fiber_is_not_resumed_or_closed_from_lua,
  worker_pool_of_spawned_coroutines_over_channels = worker_pool_of_spawned_coroutines_over_channels,
  spawned_coroutines_sleep_concurrently = spawned_coroutines_sleep_concurrently,
  user_coroutines_create_resume_yield_status_and_wrap = user_coroutines_create_resume_yield_status_and_wrap,
  user_coroutines_work_across_blocking_calls = user_coroutines_work_across_blocking_calls,
  top_level_coroutine_yield_is_refused = top_level_coroutine_yield_is_refused,
  resume_close_or_wrap_of_a_wrong_value_names_the_caller = resume_close_or_wrap_of_a_wrong_value_names_the_caller,
}
