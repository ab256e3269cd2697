-- A plain funcs.call retries a function whose entry has meta.options.retry (docs/lua-api/funcs.md,
-- "Retries"). Each attempt of `asks` tells the test it started and asks whether to fail, so the
-- test counts attempts exactly, whatever the machine's speed.
local t = require("t")
local funcs = require("funcs")
local time = require("time")

--- Answers the attempts of `future`'s call with `verdict(n)` for the n-th, until the call ends;
--- returns how many attempts there were and the call's payload or error.
local function answer_attempts(future, verdict)
  local attempts, asked = 0, process.listen("attempt")
  while true do
    local ready = channel.select({ asked:case_receive(), future:response():case_receive(),
      time.after("10s"):case_receive() })
    if ready.channel == asked then
      attempts = attempts + 1
      process.send(ready.value, "verdict", verdict(attempts))
    elseif ready.channel == future:response() then
      return attempts, future:result()
    else
      t.ok(false, "the call ended within 10 s")
    end
  end
end

local function a_call_is_retried_by_the_entrys_policy_until_it_succeeds()
  local future = t.check("async", funcs.async("asks", process.pid()))
  local attempts, result = answer_attempts(future, function(n) return n < 3 and "fail" or "ok" end)
  t.eq(attempts, 3, "attempts: two failed, the third succeeded")
  t.eq(result:data(), "ready", "the value of the attempt that succeeded")
end

local function the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors()
  local future = t.check("async", funcs.async("asks", process.pid()))
  local attempts, _, err = answer_attempts(future, function() return "fail" end)
  t.eq(attempts, 3, "attempts (max_attempts)")
  t.is_error(err, errors.UNAVAILABLE, "the last attempt's error")
  local for_good = t.check("async", funcs.async("asks_then_fails_for_good", process.pid()))
  local once, _, invalid = answer_attempts(for_good, function() return "fail" end)
  t.eq(once, 1, "attempts of a non-retryable error")
  t.is_error(invalid, errors.INVALID, "a non-retryable error")
end

local function a_retried_call_can_be_canceled_and_timed_out()
  -- An attempt that is never answered waits: the cancel stops it, and no attempt follows.
  local future = t.check("async", funcs.async("asks_again_and_again", process.pid()))
  t.receive(process.listen("attempt"), "the first attempt")
  t.eq(future:cancel(), true, "cancel")
  t.is_error(select(2, future:result()), errors.CANCELED, "canceled")
  t.silent(process.listen("attempt"), "300ms", "no attempt after the cancel")
  -- Attempts 100 ms apart, each failing at once: the timeout ends them all (2 s: on a loaded
  -- machine the first attempt alone may take most of half a second to start).
  local timed = t.check("async",
    funcs.new():with_options({ timeout = 2000 }):async("asks_again_and_again", process.pid()))
  local attempts, _, err = answer_attempts(timed, function() return "fail" end)
  t.is_error(err, errors.TIMEOUT, "the timeout covers all attempts")
  t.ge(attempts, 2, "attempts before the timeout")
end

--- Tells `caller` an attempt started and fails (retryably) if it answers "fail".
local function asks(caller)
  process.send(caller, "attempt", process.pid())
  if process.listen("verdict"):receive() == "fail" then
    return nil, errors.new({ message = "not yet", kind = errors.UNAVAILABLE, retryable = true })
  end
  return "ready"
end

local function asks_then_fails_for_good(caller)
  process.send(caller, "attempt", process.pid())
  return nil, errors.new({ message = "bad input", kind = errors.INVALID, retryable = false })
end

return {
  a_call_is_retried_by_the_entrys_policy_until_it_succeeds = a_call_is_retried_by_the_entrys_policy_until_it_succeeds,
  the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors = the_policy_gives_up_after_its_attempts_and_skips_non_retryable_errors,
  a_retried_call_can_be_canceled_and_timed_out = a_retried_call_can_be_canceled_and_timed_out,
  asks = asks,
  asks_then_fails_for_good = asks_then_fails_for_good,
}
