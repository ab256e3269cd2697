-- A plain funcs.call retries a function whose entry has meta.options.retry (docs/lua-api/funcs.md,
-- "Retries").
local t = require("t")
local funcs = require("funcs")
local time = require("time")
local events = require("events")

--- How many attempts of call `key` the retried functions announced (they send one event each).
local function attempts(sub, key)
  local n = 0
  while true do
    local ready = channel.select({ sub:channel():case_receive(), default = true })
    if ready.default then return n end
    if ready.value.path == key then n = n + 1 end
  end
end

local function a_call_is_retried_by_the_entrys_policy_until_it_succeeds()
  local sub = t.check("subscribe", events.subscribe("lua_api.retries"))
  local ready_at = time.now():unix_nano() + 30 * 1000000
  local value = t.check("a call that fails at first", funcs.call("fails_until", ready_at, "first"))
  t.eq(value, "ready", "the value of the attempt that succeeded")
  t.between(attempts(sub, "first"), 2, 3, "attempts")
end

local function the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors()
  local sub = t.check("subscribe", events.subscribe("lua_api.retries"))
  local t0 = time.now()
  local _, err = funcs.call("fails_until", math.maxinteger, "never")
  t.is_error(err, errors.UNAVAILABLE, "the last attempt's error")
  t.eq(attempts(sub, "never"), 3, "attempts (max_attempts)")
  -- Three attempts: 20 ms, then 40 ms apart.
  t.ge(t.ms_since(t0), 60, "ms before the policy gave up")
  local _, invalid = funcs.call("fails_for_good")
  t.is_error(invalid, errors.INVALID, "a non-retryable error")
  t.eq(attempts(sub, "for_good"), 1, "attempts of a non-retryable error")
end

local function a_retried_call_can_be_canceled_and_timed_out()
  local future = t.check("async", funcs.async("fails_for_a_while", math.maxinteger, "canceled"))
  time.sleep("50ms")
  t.eq(future:cancel(), true, "cancel between attempts")
  t.is_error(select(2, future:result()), errors.CANCELED, "canceled")
  local t0 = time.now()
  local _, err = funcs.new():with_options({ timeout = 300 }):call("fails_for_a_while", math.maxinteger, "timed out")
  t.is_error(err, errors.TIMEOUT, "the timeout covers all attempts")
  t.lt(t.ms_since(t0), 10000, "ms until the timeout (the policy alone would retry for a minute)")
end

--- Fails (retryable) until Unix ns `ready_at`; announces each attempt of call `key`.
local function fails_until(ready_at, key)
  events.send("lua_api.retries", "attempt", key)
  if time.now():unix_nano() < ready_at then
    return nil, errors.new({ message = "not yet", kind = errors.UNAVAILABLE, retryable = true })
  end
  return "ready"
end

local function fails_for_good()
  events.send("lua_api.retries", "attempt", "for_good")
  return nil, errors.new({ message = "bad input", kind = errors.INVALID, retryable = false })
end

return {
  a_call_is_retried_by_the_entrys_policy_until_it_succeeds = a_call_is_retried_by_the_entrys_policy_until_it_succeeds,
  the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors = the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors,
  a_retried_call_can_be_canceled_and_timed_out = a_retried_call_can_be_canceled_and_timed_out,
  fails_until = fails_until,
  fails_for_good = fails_for_good,
}
