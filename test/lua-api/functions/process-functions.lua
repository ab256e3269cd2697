-- Process functions: a process.lua with meta.default_host is called with funcs.call like a
-- function (docs/lua-api/funcs.md, "Processes as functions").
local t = require("t")
local funcs = require("funcs")

local function funcs_call_runs_a_process_function_on_its_host()
  local value = t.check("call a process function", funcs.call("pf_doubles", 21))
  t.eq(value.doubled, 42, "what its main returned")
  t.eq(value.host, "lua_api:processes", "the host it ran on")
  local future = t.check("async call", funcs.async("pf_doubles", 5))
  t.receive(future:response(), "the async call's end", "10s")
  t.eq(future:result():data().doubled, 10, "the async call's result")
end

local function a_failing_process_function_gives_its_error()
  local value, err = funcs.call("pf_fails")
  t.is_nil(value, "no value")
  t.is_error(err, errors.CONFLICT, "the error its main returned")
  t.eq(err:message(), "stock changed", "its message")
end

local function a_process_without_default_host_is_not_a_function()
  local value, err = funcs.call("pf_plain") -- luact:ignore
  t.is_nil(value, "no value")
  t.is_error(err, errors.INVALID, "refused")
  t.ok(string.find(err, "process.lua", 1, true), "the error says what the entry is: " .. tostring(err))
end

--- A process function: doubles its argument and says where it ran.
local function doubles(n)
  -- The host is the part of the PID before "|", after any node: {node~incarnation@host|id}.
  return { doubled = n * 2, host = process.pid():match("([^{@|]+)|") }
end

local function fails()
  return nil, errors.new({ message = "stock changed", kind = errors.CONFLICT })
end

return {
  funcs_call_runs_a_process_function_on_its_host = funcs_call_runs_a_process_function_on_its_host,
  a_failing_process_function_gives_its_error = a_failing_process_function_gives_its_error,
  a_process_without_default_host_is_not_a_function = a_process_without_default_host_is_not_a_function,
  doubles = doubles,
  fails = fails,
}
