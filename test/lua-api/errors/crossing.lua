-- Errors keep kind, message, retryable and details when they cross processes: as message
-- payloads, as exit errors (EXIT, LINK_DOWN, exec) and as function results.
local t = require("t")
local funcs = require("funcs")

local HOST = "lua_api:processes"

local SPEC = {
  message = "card declined", kind = errors.PERMISSION_DENIED, retryable = true,
  details = { order = 42, reasons = { "limit", "fraud" }, nested = { deep = true } },
}

local function check_error(err, what)
  t.is_error(err, SPEC.kind, what)
  t.eq(err:message(), SPEC.message, what .. ": message")
  t.eq(err:retryable(), SPEC.retryable, what .. ": retryable")
  t.eq(err:details(), SPEC.details, what .. ": details")
  t.ok(errors.is(err, errors.PERMISSION_DENIED), what .. ": errors.is")
end

-- Child processes ---------------------------------------------------------------------------

local function sends_an_error(parent)
  process.send(parent, "error", errors.new(SPEC), "after the error")
end

local function returns_an_error()
  return nil, errors.new(SPEC)
end

local function returns_an_error_as_its_value()
  return errors.new(SPEC)
end

local function raises_an_error()
  error(errors.new(SPEC))
end

--- A function entry.
local function function_returns_an_error()
  return nil, errors.new(SPEC)
end

--- A function entry: an error made with the upper-snake kind, not saying whether to retry, wrapped.
local function function_returns_a_wrapped_error()
  return nil, errors.wrap(errors.new({ message = "no such card", kind = "NOT_FOUND" }), "charging")
end

-- Tests -------------------------------------------------------------------------------------

local function errors_keep_their_fields_as_message_payloads()
  local inbox = process.inbox()
  process.send(process.pid(), "self", errors.new(SPEC))
  check_error(t.receive(inbox, "an error sent to myself"):payload():data(), "error sent to self")
  process.send(process.pid(), "nested", { list = { errors.new(SPEC) }, by_key = { err = errors.new(SPEC) } })
  local nested = t.receive(inbox, "errors nested in a table"):payload():data()
  check_error(nested.list[1], "error in a list in a payload")
  check_error(nested.by_key.err, "error under a key in a payload")
  t.check("spawn", process.spawn("sends_an_error", HOST, process.pid()))
  local msg = t.receive(inbox, "the child's message")
  local err, after = msg:payload():data()
  check_error(err, "error sent by another process")
  t.eq(after, "after the error", "the payload value after the error")
end

local function errors_keep_their_fields_as_exit_errors()
  local events = process.events()
  local returned = t.check("spawn", process.spawn_monitored("returns_an_error", HOST))
  check_error(t.event(events, process.event.EXIT, returned, "EXIT").result.error, "EXIT error of a returned error")
  local _, exec_err = process.exec("returns_an_error", HOST)
  check_error(exec_err, "exec error")
  local as_value, no_err = process.exec("returns_an_error_as_its_value", HOST)
  t.is_nil(no_err, "exec error of a child whose value is an error object")
  check_error(as_value, "exec value that is an error object")
  t.check("set trap_links", process.set_options({ trap_links = true }))
  local linked = t.check("spawn", process.spawn_linked("returns_an_error", HOST))
  check_error(t.event(events, process.event.LINK_DOWN, linked, "LINK_DOWN").result.error, "LINK_DOWN error")
end

local function a_raised_error_keeps_exactly_its_fields_in_the_exit_event()
  local events = process.events()
  local raised = t.check("spawn", process.spawn_monitored("raises_an_error", HOST))
  check_error(t.event(events, process.event.EXIT, raised, "EXIT").result.error, "EXIT error of a raised error")
end

local function errors_keep_their_fields_as_function_results()
  local value, err = funcs.call("function_returns_an_error")
  t.is_nil(value, "value")
  check_error(err, "error of funcs.call")
  local future = funcs.async("function_returns_an_error")
  check_error(future:response():receive(), "what a future's channel yields")
  check_error(future:error(), "error of a Future")
end

local function a_crossing_error_keeps_its_kind_and_gets_its_retry_default_and_context()
  local _, err = funcs.call("function_returns_a_wrapped_error")
  t.is_error(err, errors.NOT_FOUND, "error of funcs.call")
  t.eq(err:kind(), errors.NOT_FOUND, "kind")
  t.eq(err:retryable(), false, "retryable: NOT_FOUND's default, as a retry decision would take it")
  t.eq(err:message(), "charging: no such card", "the context travels in front of the message")
  t.eq(tostring(err), "charging: no such card", "tostring")
  t.is_nil(err:stack(), "no stack: made in another process")
end

return {
  function_returns_a_wrapped_error = function_returns_a_wrapped_error,
  a_crossing_error_keeps_its_kind_and_gets_its_retry_default_and_context = a_crossing_error_keeps_its_kind_and_gets_its_retry_default_and_context,
  sends_an_error = sends_an_error,
  returns_an_error = returns_an_error,
  returns_an_error_as_its_value = returns_an_error_as_its_value,
  raises_an_error = raises_an_error,
  function_returns_an_error = function_returns_an_error,
  errors_keep_their_fields_as_message_payloads = errors_keep_their_fields_as_message_payloads,
  errors_keep_their_fields_as_exit_errors = errors_keep_their_fields_as_exit_errors,
  a_raised_error_keeps_exactly_its_fields_in_the_exit_event = a_raised_error_keeps_exactly_its_fields_in_the_exit_event,
  errors_keep_their_fields_as_function_results = errors_keep_their_fields_as_function_results,
}
