-- The errors global: kinds, errors.new, wrap, is, call_stack, methods, tostring and `..`
-- (docs/lua-api/errors.md).
local t = require("t")

-- Each errors.* constant and the kind string Lua code sees for it.
local KINDS = {
  NOT_FOUND = "NotFound", ALREADY_EXISTS = "AlreadyExists", INVALID = "Invalid",
  PERMISSION_DENIED = "PermissionDenied", UNAVAILABLE = "Unavailable", INTERNAL = "Internal",
  CANCELED = "Canceled", CONFLICT = "Conflict", TIMEOUT = "Timeout", RATE_LIMITED = "RateLimited",
  UNKNOWN = "",
}

local function errors_kind_constants_are_the_lua_kind_names()
  for name, kind in pairs(KINDS) do
    t.eq(errors[name], kind, "errors." .. name)
    local err = errors.new({ message = "m", kind = errors[name] })
    t.eq(err:kind(), kind, "kind of an error made with errors." .. name)
    t.ok(errors.is(err, errors[name]), "errors.is(err, errors." .. name .. ")")
  end
end

local function kinds_are_accepted_in_either_spelling()
  for name, kind in pairs(KINDS) do
    local upper = errors.new({ message = "m", kind = name })
    t.eq(upper:kind(), kind, "kind of an error made with kind = " .. name)
    t.ok(errors.is(upper, kind), "errors.is(err, " .. t.show(kind) .. ")")
    t.ok(errors.is(errors.new({ message = "m", kind = kind }), name), "errors.is(err, " .. name .. ")")
  end
  t.eq(errors.new({ message = "m" }):kind(), errors.UNKNOWN, "no kind is UNKNOWN")
  t.eq(errors.is(errors.new({ message = "m", kind = errors.TIMEOUT }), "NotFound"), false,
    "errors.is of another kind")
  t.eq(errors.is(errors.new({ message = "m" }), "Bogus"), false, "errors.is of no kind at all")
  t.raises(function() errors.new({ message = "m", kind = "not_found" }) end,
    "errors.new: unknown kind not_found", "a kind spelled neither way")
end

local function errors_new_with_a_string()
  local err = errors.new("plain message")
  t.eq(err:message(), "plain message", "message")
  t.eq(err:kind(), errors.UNKNOWN, "kind")
  t.eq(err:kind(), "", "the UNKNOWN kind is the empty string")
  t.is_nil(err:retryable(), "retryable is nil: not said")
  t.is_nil(err:details(), "details")
  t.type(err:stack(), "string", "stack")
  t.eq(tostring(err), "plain message", "tostring")
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
  t.is_nil(errors.new({ message = "m", kind = errors.TIMEOUT }):retryable(),
    "retryable not said is nil, whatever the kind")
  t.is_nil(errors.new({ message = "m", details = {} }):details(), "empty details are none")
end

local function errors_wrap_keeps_the_cause_and_adds_context()
  local cause = errors.new({ message = "disk full", kind = errors.UNAVAILABLE, retryable = false, details = { disk = "sda" } })
  local wrapped = errors.wrap(cause, "saving the order")
  t.eq(wrapped:kind(), errors.UNAVAILABLE, "kind")
  t.eq(wrapped:retryable(), false, "retryable")
  t.eq(wrapped:details(), { disk = "sda" }, "details")
  t.eq(wrapped:message(), "disk full", "the message is the cause's")
  t.eq(tostring(wrapped), "saving the order: disk full", "tostring puts the context first")
  t.ok(errors.is(wrapped, errors.UNAVAILABLE), "errors.is of the wrapped error")
  t.eq(tostring(cause), "disk full", "the cause is unchanged")
  local twice = errors.wrap(wrapped, "placing the order")
  t.eq(twice:kind(), errors.UNAVAILABLE, "kind after wrapping twice")
  t.eq(twice:message(), "disk full", "message after wrapping twice")
  t.eq(tostring(twice), "placing the order: saving the order: disk full", "tostring after wrapping twice")
  t.is_nil(errors.wrap(errors.new("m"), "c"):retryable(), "an unsaid retryable stays unsaid")
  local from_text = errors.wrap("socket closed", "fetching")
  t.eq(from_text:kind(), errors.UNKNOWN, "kind of a wrapped string")
  t.eq(from_text:message(), "socket closed", "message of a wrapped string")
  t.eq(tostring(from_text), "fetching: socket closed", "tostring of a wrapped string")
end

local function errors_is_checks_the_kind()
  local err = errors.new({ message = "m", kind = errors.CONFLICT })
  t.eq(errors.is(err, errors.CONFLICT), true, "is of its own kind")
  t.eq(errors.is(err, errors.NOT_FOUND), false, "is of another kind")
  t.eq(errors.is("Conflict", errors.CONFLICT), false, "a string is not an error")
  t.eq(errors.is(nil, errors.CONFLICT), false, "nil is not an error")
  t.eq(errors.is({ kind = "Conflict", message = "m" }, errors.CONFLICT), false, "a plain table is not an error")
end

local function error_objects_work_as_strings()
  local err = errors.new("out of paper")
  local other = errors.wrap(errors.new("jammed"), "tray 2")
  t.eq("printer: " .. err, "printer: out of paper", "string .. error")
  t.eq(err .. " (again)", "out of paper (again)", "error .. string")
  t.eq(err .. "; " .. other, "out of paper; tray 2: jammed", "error .. error, with contexts")
  t.eq(err .. 2, "out of paper2", "error .. number")
  t.eq(#tostring(err), 12, "length through tostring")
  t.eq(string.find(tostring(err), "paper", 1, true), 8, "string.find through tostring")
  t.eq(string.find(other, "tray 2: jam", 1, true), 1, "string.find of an error searches its text")
  t.eq(string.match(err, "of (%a+)"), "paper", "string.match of an error")
  t.eq(select(2, string.gsub(err, "p", "P")), 2, "string.gsub of an error")
  t.raises(function() return err .. {} end, "attempt to concatenate a table value", "error .. table")
  t.raises(function() return nil .. err end, "attempt to concatenate a nil value", "nil .. error")
end

local function error_objects_are_opaque_userdata()
  local err = errors.new({ message = "locked", kind = errors.CONFLICT, details = { id = 7 } })
  t.eq(type(err), "userdata", "type of an error")
  t.raises(function() err.kind = "changed" end, "attempt to index", "assigning a field")
  t.eq(err:kind(), errors.CONFLICT, "kind unchanged")
  t.type(err.message, "function", "err.message is the method, not the text")
  t.raises(function() return errors.new("x").message(nil) end, "error expected", "a method on a non-error")
end

local function call_stack_gives_the_frames_where_the_error_was_made()
  -- No tail calls: a tail call leaves no frame of its caller.
  local function make_it() local made = errors.new("deep"); return made end
  local function call_it() local made = make_it(); return made end
  local err = call_it()
  local stack = errors.call_stack(err)
  t.type(stack, "table", "call_stack")
  local top = stack.frames[1]
  t.type(top, "table", "innermost frame")
  t.contains(top.source, "errors/api.lua", "source of the innermost frame")
  t.type(top.line, "number", "line of the innermost frame")
  t.eq(top.name, "make_it", "the function that made the error")
  t.eq(stack.frames[2].name, "call_it", "its caller")
  t.is_nil(errors.call_stack("deep"), "call_stack of a string")
  local _, received = process.send("lua_api.errors.nobody", "x")
  t.is_nil(errors.call_stack(received), "call_stack of an error made outside Lua code")
end

local function errors_methods_and_tostring()
  local err = errors.new({ message = "with a stack", kind = errors.INTERNAL })
  t.type(err:kind(), "string", "kind()")
  t.type(err:message(), "string", "message()")
  t.is_nil(err:retryable(), "retryable() of an error that did not say")
  t.is_nil(err:details(), "details() of an error without details")
  t.type(err:stack(), "string", "stack()")
  t.eq(tostring(err), "with a stack", "tostring is the message")
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
  t.eq(err:kind(), errors.NOT_FOUND, "err:kind()")
  t.type(err:message(), "string", "message")
  t.eq(err:retryable(), false, "the runtime's errors say whether to retry")
  t.eq(tostring(err), err:message(), "tostring")
end

return {
  errors_kind_constants_are_the_lua_kind_names = errors_kind_constants_are_the_lua_kind_names,
  kinds_are_accepted_in_either_spelling = kinds_are_accepted_in_either_spelling,
  errors_new_with_a_string = errors_new_with_a_string,
  errors_new_with_a_table_keeps_kind_message_retryable_and_details = errors_new_with_a_table_keeps_kind_message_retryable_and_details,
  errors_wrap_keeps_the_cause_and_adds_context = errors_wrap_keeps_the_cause_and_adds_context,
  errors_is_checks_the_kind = errors_is_checks_the_kind,
  error_objects_work_as_strings = error_objects_work_as_strings,
  error_objects_are_opaque_userdata = error_objects_are_opaque_userdata,
  call_stack_gives_the_frames_where_the_error_was_made = call_stack_gives_the_frames_where_the_error_was_made,
  errors_methods_and_tostring = errors_methods_and_tostring,
  raised_error_objects_are_caught_unchanged = raised_error_objects_are_caught_unchanged,
  fallible_calls_return_error_objects = fallible_calls_return_error_objects,
}
