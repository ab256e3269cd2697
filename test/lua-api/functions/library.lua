-- function.lua entries the function tests call.
local time = require("time")
local ctx = require("ctx")
local funcs = require("funcs")

--- Sleeps `ms`, then returns `value`.
local function sleeps(ms, value)
  time.sleep(ms * time.MILLISECOND)
  return value
end

--- Sleeps `ms`; returns when the sleep began and ended, `{ from, to }` in Unix nanoseconds.
local function sleeps_span(ms)
  local from = time.now():unix_nano()
  time.sleep(ms * time.MILLISECOND)
  return { from = from, to = time.now():unix_nano() }
end

local function adds(...)
  local sum = 0
  for i = 1, select("#", ...) do sum = sum + select(i, ...) end
  return sum
end

--- Returns nil and an error made from `spec`.
local function fails(spec)
  return nil, errors.new(spec)
end

local function raises(text)
  error(text)
end

local function calls_adds(a, b)
  return funcs.call("adds", a, b)
end

local function reads_context()
  return ctx.all()
end

--- A function entry run directly as a test (on the function host).
local function a_function_entry_runs_as_a_test()
  if type(process.pid()) ~= "string" then return nil, "a function has no PID" end
  if next(ctx.all()) ~= nil then return nil, "a test function has context values" end
  return adds(1, 2) == 3
end

return {
  sleeps = sleeps,
  sleeps_span = sleeps_span,
  adds = adds,
  fails = fails,
  raises = raises,
  calls_adds = calls_adds,
  reads_context = reads_context,
  a_function_entry_runs_as_a_test = a_function_entry_runs_as_a_test,
}
