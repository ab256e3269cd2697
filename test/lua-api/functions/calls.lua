-- funcs: call, async and Futures, executors with context and timeouts (docs/lua-api/funcs.md).
local t = require("t")
local time = require("time")
local funcs = require("funcs")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Calls reads_context with the context this process was spawned with (plus `extra`).
local function calls_with_own_context(extra)
  local plain = t.check("funcs.call", funcs.call("reads_context"))
  local added = t.check("executor call", funcs.new():with_context(extra):call("reads_context"))
  return { plain = plain, added = added }
end

-- Tests -------------------------------------------------------------------------------------

local function funcs_call_returns_the_value_of_a_function()
  local value, err = funcs.call("adds", 1, 2, 3.5)
  t.is_nil(err, "error")
  t.eq(value, 6.5, "value")
  t.eq(funcs.call("lua_api.functions:adds", 40, 2), 42, "call by full entry ID")
end

local function a_function_can_call_another_function()
  t.eq(t.check("call", funcs.call("calls_adds", 20, 22)), 42, "value through two calls")
end

local function funcs_call_returns_the_error_of_a_function()
  local spec = { message = "no stock", kind = errors.CONFLICT, retryable = true, details = { sku = "A-1", left = 0 } }
  local value, err = funcs.call("fails", spec)
  t.is_nil(value, "value")
  t.is_error(err, errors.CONFLICT, "error")
  t.eq(err:message(), "no stock", "message")
  t.eq(err:retryable(), true, "retryable")
  t.eq(err:details(), { sku = "A-1", left = 0 }, "details")
end

local function a_function_that_raises_gives_the_caller_nil_and_an_error()
  local ok, value, err = pcall(funcs.call, "raises", "function broke")
  t.ok(ok, "funcs.call of a raising function returns instead of raising (raised " .. t.show(value) .. ")")
  t.is_nil(value, "value")
  t.contains(t.is_error(err, nil, "error"):message(), "function broke", "message")
end

local function funcs_call_of_an_unknown_entry_returns_an_error()
  local ok, value, err = pcall(funcs.call, "no_such_function")
  t.ok(ok, "funcs.call of an unknown entry returns instead of raising (raised " .. t.show(value) .. ")")
  t.fails("call an unknown entry", value, err)
  local future, async_err = funcs.async("no_such_function") -- luact:ignore
  t.is_nil(future, "no future for an async call of an unknown entry")
  t.is_error(async_err, nil, "the async call's error")
  local none, invalid = funcs.async("")
  t.is_nil(none, "no future for an empty entry ID")
  t.is_error(invalid, errors.INVALID, "its error")
end

--- Waits for `future`'s call to end: its value, or nil and its error.
local function await(future)
  t.receive(future:response(), "the call's end", "10s")
  local payload, err = future:result()
  if payload == nil then return nil, err end
  return payload:data()
end

--- Whether the calls' sleeps, `{ from, to }` in Unix ns each, all overlapped: every one began
--- before the first ended. Calls run one after the other would not overlap at all.
local function overlapped(spans)
  local last_start, first_end = -math.huge, math.huge
  for _, span in ipairs(spans) do
    last_start = math.max(last_start, span.from)
    first_end = math.min(first_end, span.to)
  end
  return last_start < first_end
end

local function three_async_calls_run_in_parallel()
  local t0 = time.now()
  local a, b, c = funcs.async("sleeps_span", 200), funcs.async("sleeps_span", 200), funcs.async("sleeps_span", 200)
  local spans = { t.check("call a", await(a)), t.check("call b", await(b)), t.check("call c", await(c)) }
  t.ge(t.ms_since(t0), 195, "ms for three 200 ms calls")
  t.ok(overlapped(spans), "three async calls sleep at once")

  -- funcs.call blocks only its own coroutine: three coroutines calling at once.
  local done = channel.new(3)
  for _ = 1, 3 do
    coroutine.spawn(function() done:send(funcs.call("sleeps_span", 200)) end)
  end
  local called = {}
  for i = 1, 3 do called[i] = t.receive(done, "call " .. i, "10s") end
  t.ok(overlapped(called), "three funcs.call in three coroutines sleep at once")
end

local function future_is_complete_result_and_error()
  local future = funcs.async("sleeps", 100, "done")
  t.eq(future:is_complete(), false, "is_complete right after async")
  local early, early_err = future:result()
  t.ok(early == nil and early_err == nil, "result while the call runs: nil, nil (it does not wait)")
  local no_err, has_err = future:error()
  t.ok(no_err == nil and has_err == false, "error while the call runs: nil, false")
  local payload = t.receive(future:response(), "the call's payload", "10s")
  t.eq(payload:data(), "done", "the payload's data")
  t.eq(future:is_complete(), true, "is_complete after the channel yielded")
  local value, err = future:result()
  t.eq(value:data(), "done", "result: the payload")
  t.is_nil(err, "result: no error")
  local none, has_none = future:error()
  t.ok(none == nil and has_none == false, "error of a successful call: nil, false")

  local failing = funcs.async("fails", { message = "async failure", kind = errors.UNAVAILABLE })
  t.is_error(t.receive(failing:response(), "the failed call's error", "10s"), errors.UNAVAILABLE, "what its channel yields")
  local failure, failed = failing:error()
  t.is_error(failure, errors.UNAVAILABLE, "error of a failed call")
  t.eq(failed, true, "error says there is one")
  t.eq(failing:is_complete(), true, "is_complete after error")
  local v2, e2 = failing:result()
  t.is_nil(v2, "result value of a failed call")
  t.eq(e2:message(), "async failure", "result error of a failed call")

  -- Nobody waits on its channel: is_complete turns true by itself once the call has ended
  -- (looked at every 20 ms, for up to 10 s: a loaded machine may take long to run it).
  local quick = funcs.async("adds", 1)
  for _ = 1, 500 do
    if quick:is_complete() then break end
    time.sleep("20ms")
  end
  t.eq(quick:is_complete(), true, "is_complete of a call that ended while nobody waited")
end

local function future_channel_yields_when_the_call_ends()
  -- Far apart: on a loaded machine the caller may first run once both have ended, and select
  -- then takes the first case that is ready.
  local slow, fast = funcs.async("sleeps", 1500, "slow"), funcs.async("sleeps", 10, "fast")
  t.ok(slow:channel() == slow:response(), "response() and channel() are the same channel")
  local ready = channel.select({ slow:channel():case_receive(), fast:channel():case_receive(), time.after("5s"):case_receive() })
  t.ok(ready.channel == fast:channel(), "the faster call's channel is ready first")
  t.ok(ready.ok, "ok of the channel receive")
  t.eq(ready.value:data(), "fast", "the channel yields the call's payload")
  t.eq(fast:is_complete(), true, "is_complete after its channel yielded")
  t.eq(fast:result():data(), "fast", "result after its channel yielded")
  t.receive(slow:response(), "the slow call's response channel", "5s")
  t.eq(slow:result():data(), "slow", "result of the slow call")
end

local function future_cancel_stops_a_running_call()
  local future = funcs.async("sleeps", 20000, "never")
  time.sleep("10ms")
  t.eq(future:is_canceled(), false, "is_canceled before cancel")
  t.eq(future:cancel(), true, "cancel of a running call")
  t.eq(future:is_canceled(), true, "is_canceled after cancel")
  -- Complete at once with CANCELED, without waiting for the call to stop.
  t.eq(future:is_complete(), true, "is_complete after cancel")
  local value, err = future:result()
  t.is_nil(value, "value of a canceled call")
  t.is_error(err, errors.CANCELED, "error of a canceled call")
  t.eq(future:cancel(), false, "a second cancel")
  -- The channel yields when the stopped call has ended: not canceled, it would take 20 s.
  local t0 = time.now()
  local yielded = t.receive(future:response(), "the canceled call's end", "10s")
  t.lt(t.ms_since(t0), 10000, "ms until the canceled call ended")
  t.is_error(yielded, errors.CANCELED, "what the channel yields")
end

local function with_options_timeout_times_out_with_kind_timeout()
  local t0 = time.now()
  local value, err = funcs.new():with_options({ timeout = 50 }):call("sleeps", 20000, "late")
  local ms = t.ms_since(t0)
  t.is_nil(value, "value")
  t.is_error(err, errors.TIMEOUT, "error")
  -- Without the timeout the call would take 20 s.
  t.between(ms, 45, 10000, "ms until the timeout")
  local future = funcs.new():with_options({ timeout = 30 }):async("sleeps", 2000, "late")
  t.is_error(select(2, await(future)), errors.TIMEOUT, "error of an async call with a timeout")
  t.eq(funcs.new():with_options({ timeout = 1000 }):call("adds", 1, 1), 2, "a call within its timeout")
  local ok, value2, err2 = pcall(function() return funcs.new():with_options({ no_such_option = 1 }):call("adds", 1) end)
  t.ok(ok, "a call with an unknown option returns instead of raising (raised " .. t.show(value2) .. ")")
  t.fails("a call with an unknown option", value2, err2)
end

local function executors_are_immutable()
  local base = funcs.new():with_context({ a = 1 })
  local derived = base:with_context({ b = 2 })
  local timed = base:with_options({ timeout = 20 })
  t.ok(base ~= derived and base ~= timed, "with_context and with_options return new executors")
  t.eq(t.check("base", base:call("reads_context")), { a = 1 }, "context of the base executor")
  t.eq(t.check("derived", derived:call("reads_context")), { a = 1, b = 2 }, "context of the derived executor")
  t.eq(t.check("base after a timeout was derived", base:call("sleeps", 40, "no timeout")), "no timeout",
    "the base executor has no timeout")
  t.is_error(select(2, timed:call("sleeps", 1000)), errors.TIMEOUT, "the timed executor times out")
  t.eq(t.check("plain", funcs.new():call("reads_context")), {}, "funcs.new() has no context")
end

local function a_called_function_sees_the_callers_context()
  local value = t.check("exec", process.with_context({ user = "ada", role = "admin" })
    :exec("calls_with_own_context", HOST, { role = "auditor", extra = true }))
  t.eq(value.plain, { user = "ada", role = "admin" }, "context seen by funcs.call")
  t.eq(value.added, { user = "ada", role = "auditor", extra = true }, "context seen through with_context")
end

return {
  calls_with_own_context = calls_with_own_context,
  funcs_call_returns_the_value_of_a_function = funcs_call_returns_the_value_of_a_function,
  a_function_can_call_another_function = a_function_can_call_another_function,
  funcs_call_returns_the_error_of_a_function = funcs_call_returns_the_error_of_a_function,
  a_function_that_raises_gives_the_caller_nil_and_an_error = a_function_that_raises_gives_the_caller_nil_and_an_error,
  funcs_call_of_an_unknown_entry_returns_an_error = funcs_call_of_an_unknown_entry_returns_an_error,
  three_async_calls_run_in_parallel = three_async_calls_run_in_parallel,
  future_is_complete_result_and_error = future_is_complete_result_and_error,
  future_channel_yields_when_the_call_ends = future_channel_yields_when_the_call_ends,
  future_cancel_stops_a_running_call = future_cancel_stops_a_running_call,
  with_options_timeout_times_out_with_kind_timeout = with_options_timeout_times_out_with_kind_timeout,
  executors_are_immutable = executors_are_immutable,
  a_called_function_sees_the_callers_context = a_called_function_sees_the_callers_context,
}
