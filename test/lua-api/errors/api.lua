-- The errors global: kinds, errors.new, wrap, is, methods, tostring (docs/lua-api/errors.md).
local t = require("t")

local KINDS = {
  "NOT_FOUND", "ALREADY_EXISTS", "INVALID", "PERMISSION_DENIED", "UNAVAILABLE", "INTERNAL",
  "CANCELED", "CONFLICT", "TIMEOUT", "RATE_LIMITED", "UNKNOWN",
}

local function errors_kind_constants_are_the_kind_names()
  for _, kind in ipairs(KINDS) do
    t.eq(errors[kind], kind, "errors." .. kind)
    local err = errors.new({ message = "m", kind = errors[kind] })
    t.eq(err:kind(), kind, "kind of an error made with errors." .. kind)
    t.ok(errors.is(err, kind), "errors.is(err, errors." .. kind .. ")")
  end
end

local function errors_new_with_a_string()
  local err = errors.new("plain message")
  t.eq(err:message(), "plain message", "message")
  t.type(err:kind(), "string", "kind")
  t.ok(errors[err:kind()] == err:kind(), "the kind (" .. tostring(err:kind()) .. ") is one of the kinds")
  t.type(err:retryable(), "boolean", "retryable")
  t.contains(tostring(err), "plain message", "tostring")
end

local function errors_new_with_a_table_keeps_kind_message_retryable_and_details()
  local err = errors.new({
    message = "order 7 not found", kind = errors.NOT_FOUND, retryable = true, details = { order = 7, tags = { "a", "b" } },
  })
  t.eq(err:kind(), errors.NOT_FOUND, "kind")
  t.eq(err:message(), "order 7 not found", "message")
  t.eq(err:retryable(), true, "retryable")
  t.eq(err:details(), { order = 7, tags = { "a", "b" } }, "details")
  local not_retryable = errors.new({ message = "m", kind = errors.TIMEOUT, retryable = false })
  t.eq(not_retryable:retryable(), false, "retryable = false is kept")
end

local function errors_wrap_keeps_kind_retryable_and_details()
  local cause = errors.new({ message = "disk full", kind = errors.UNAVAILABLE, retryable = false, details = { disk = "sda" } })
  local wrapped = errors.wrap(cause, "saving the order")
  t.eq(wrapped:kind(), errors.UNAVAILABLE, "kind")
  t.eq(wrapped:retryable(), false, "retryable")
  t.eq(wrapped:details(), { disk = "sda" }, "details")
  t.contains(wrapped:message(), "saving the order", "the message has the new text")
  t.contains(wrapped:message(), "disk full", "the message has the cause's text")
  t.ok(errors.is(wrapped, errors.UNAVAILABLE), "errors.is of the wrapped error")
  t.eq(cause:message(), "disk full", "the cause is unchanged")
  local twice = errors.wrap(wrapped, "placing the order")
  t.eq(twice:kind(), errors.UNAVAILABLE, "kind after wrapping twice")
  t.contains(twice:message(), "disk full", "message after wrapping twice")
end

local function errors_is_checks_the_kind()
  local err = errors.new({ message = "m", kind = errors.CONFLICT })
  t.eq(errors.is(err, errors.CONFLICT), true, "is of its own kind")
  t.eq(errors.is(err, errors.NOT_FOUND), false, "is of another kind")
  t.eq(errors.is("CONFLICT", errors.CONFLICT), false, "a string is not an error")
  t.eq(errors.is(nil, errors.CONFLICT), false, "nil is not an error")
  t.eq(errors.is({ kind = "CONFLICT", message = "m" }, errors.CONFLICT), false, "a plain table is not an error")
end

local function errors_methods_and_tostring()
  local err = errors.new({ message = "with a stack", kind = errors.INTERNAL })
  t.type(err:kind(), "string", "kind()")
  t.type(err:message(), "string", "message()")
  t.type(err:retryable(), "boolean", "retryable()")
  t.is_nil(err:details(), "details() of an error without details")
  t.type(err:stack(), "string", "stack()")
  t.type(tostring(err), "string", "tostring")
  t.contains(tostring(err), "with a stack", "tostring has the message")
end

local function raised_error_objects_are_caught_unchanged()
  local err = errors.new({ message = "raised", kind = errors.RATE_LIMITED, details = { wait = 5 } })
  local ok, caught = pcall(error, err)
  t.eq(ok, false, "pcall")
  t.ok(caught == err, "pcall gives back the same error object")
  t.ok(errors.is(caught, errors.RATE_LIMITED), "errors.is of the caught value")
  t.eq(caught:details(), { wait = 5 }, "details of the caught value")
end

local function fallible_calls_return_error_objects()
  local value, err = process.send("lua_api.errors.nobody", "x")
  t.is_nil(value, "value")
  t.ok(errors.is(err, errors.NOT_FOUND), "errors.is(err, NOT_FOUND) for an unknown name")
  t.type(err:message(), "string", "message")
  t.type(err:retryable(), "boolean", "retryable")
  t.contains(tostring(err), err:message(), "tostring")
end

return {
  errors_kind_constants_are_the_kind_names = errors_kind_constants_are_the_kind_names,
  errors_new_with_a_string = errors_new_with_a_string,
  errors_new_with_a_table_keeps_kind_message_retryable_and_details = errors_new_with_a_table_keeps_kind_message_retryable_and_details,
  errors_wrap_keeps_kind_retryable_and_details = errors_wrap_keeps_kind_retryable_and_details,
  errors_is_checks_the_kind = errors_is_checks_the_kind,
  errors_methods_and_tostring = errors_methods_and_tostring,
  raised_error_objects_are_caught_unchanged = raised_error_objects_are_caught_unchanged,
  fallible_calls_return_error_objects = fallible_calls_return_error_objects,
}
