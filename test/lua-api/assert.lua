-- lua_api:assert — assertions for the Lua API tests.
--
-- Every check raises an error object (errors.new) whose message names the failing line of the
-- test, what was checked, what was expected and what came instead:
--   ".../messages/delivery.lua:12: payloads in receive order: expected {1, 2, 3}, got {1, 3, 2}"
-- Fallible calls return `value, err`; pass them whole, after the description:
--   local pid = t.check("spawn the echo child", process.spawn("echo", HOST))
--   local err = t.fails("send to a dead PID", process.send(dead, "x"))
local time = require("time")

local t = {}

-- The names of the errors.* kind constants (their values are Lua's kind strings).
local KIND_NAMES = {
  "NOT_FOUND", "ALREADY_EXISTS", "INVALID", "PERMISSION_DENIED", "UNAVAILABLE", "INTERNAL",
  "CANCELED", "CONFLICT", "TIMEOUT", "RATE_LIMITED", "UNKNOWN",
}

--- The name of the errors.* constant of an error object's kind ("NOT_FOUND"), or nil when
--- `value` is not an error object.
local function kind_name(value)
  if type(value) ~= "userdata" then return nil end
  for _, name in ipairs(KIND_NAMES) do
    if errors.is(value, errors[name]) then return name end
  end
  return nil
end

--- The kind of an error object (err:kind()), or nil when `value` is not one.
local function kind_of(value)
  if kind_name(value) == nil then return nil end
  return value:kind()
end
t.kind_of = kind_of

--- A short, readable rendering of any value (tables sorted by key, errors as KIND: message).
local function show(value, depth)
  depth = depth or 0
  local vt = type(value)
  if vt == "string" then return (string.format("%q", value):gsub("\\\n", "\\n")) end
  local kind = kind_name(value)
  if kind ~= nil then return "error(" .. kind .. ": " .. show(value:message()) .. ")" end
  if vt ~= "table" then return tostring(value) end
  local ok, text = pcall(tostring, value)
  if ok and not text:find("^table: ") then return text end
  if depth >= 3 then return "{…}" end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  local parts, n = {}, #value
  for i = 1, n do parts[i] = show(value[i], depth + 1) end
  for _, k in ipairs(keys) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      local name = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. show(k) .. "]"
      parts[#parts + 1] = name .. " = " .. show(value[k], depth + 1)
    end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
t.show = show

--- "file:line" of the test code that called into this library (the first frame outside it).
local function test_location()
  local own
  for level = 2, 16 do
    local _, where = pcall(error, "", level)
    local file, line = tostring(where):match("^(.-):(%d+): $")
    if file ~= nil and not file:find("^luact:") then
      if own == nil then
        own = file
      elseif file ~= own then
        return file .. ":" .. line
      end
    end
  end
  return nil
end

local function fail(what, text)
  local message = what ~= nil and (what .. ": " .. text) or text
  local where = test_location()
  if where ~= nil then message = where .. ": " .. message end
  error(errors.new({ message = message }), 0)
end
t.fail = fail

local function equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  if kind_of(a) ~= nil or kind_of(b) ~= nil then return false end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Values ------------------------------------------------------------------------------------

--- Deep equality (tables compared field by field).
function t.eq(actual, expected, what)
  if not equal(actual, expected) then
    fail(what, "expected " .. show(expected) .. ", got " .. show(actual))
  end
  return actual
end

function t.ne(actual, unexpected, what)
  if equal(actual, unexpected) then fail(what, "expected anything but " .. show(unexpected)) end
  return actual
end

function t.ok(value, what)
  if not value then fail(what, "expected a true value, got " .. show(value)) end
  return value
end

function t.is_nil(value, what)
  if value ~= nil then fail(what, "expected nil, got " .. show(value)) end
end

function t.type(value, expected_type, what)
  if type(value) ~= expected_type then
    fail(what, "expected a " .. expected_type .. ", got " .. type(value) .. " " .. show(value))
  end
  return value
end

--- `text` matches the Lua pattern.
function t.match(text, pattern, what)
  if type(text) ~= "string" or not text:find(pattern) then
    fail(what, "expected text matching " .. show(pattern) .. ", got " .. show(text))
  end
  return text
end

--- `text` contains `fragment` literally.
function t.contains(text, fragment, what)
  if type(text) ~= "string" or not text:find(fragment, 1, true) then
    fail(what, "expected text containing " .. show(fragment) .. ", got " .. show(text))
  end
  return text
end

function t.lt(actual, limit, what)
  if not (actual < limit) then fail(what, "expected less than " .. show(limit) .. ", got " .. show(actual)) end
  return actual
end

function t.ge(actual, limit, what)
  if not (actual >= limit) then fail(what, "expected at least " .. show(limit) .. ", got " .. show(actual)) end
  return actual
end

function t.between(actual, low, high, what)
  if type(actual) ~= "number" or actual < low or actual > high then
    fail(what, "expected a number between " .. show(low) .. " and " .. show(high) .. ", got " .. show(actual))
  end
  return actual
end

-- Errors ------------------------------------------------------------------------------------

--- An error object (optionally of `kind`).
function t.is_error(value, kind, what)
  local actual = kind_of(value)
  if actual == nil then fail(what, "expected an error object, got " .. show(value)) end
  if kind ~= nil and not errors.is(value, kind) then
    fail(what, "expected an error of kind " .. show(kind) .. ", got " .. show(value))
  end
  return value
end

--- The value of a fallible call that must succeed: `t.check(what, call(...))`.
function t.check(what, value, err, ...)
  if err ~= nil then fail(what, "expected success, got the error " .. show(err)) end
  if value == nil then fail(what, "expected a value, got nil") end
  return value, err, ...
end

--- The error of a fallible call that must fail with `nil, err`: `t.fails(what, call(...))`.
function t.fails(what, value, err)
  if value ~= nil then fail(what, "expected nil and an error, got the value " .. show(value)) end
  if kind_of(err) == nil then fail(what, "expected an error object, got " .. show(err)) end
  return err
end

--- `fn` must raise; the raised value (as text, or an error's message) contains `fragment`.
function t.raises(fn, fragment, what)
  local ok, raised = pcall(fn)
  if ok then
    local expected = fragment ~= nil and "an error containing " .. show(fragment) or "an error"
    fail(what, "expected " .. expected .. ", but nothing was raised")
  end
  local text = kind_of(raised) ~= nil and raised:message() or tostring(raised)
  if fragment ~= nil and not text:find(fragment, 1, true) then
    fail(what, "expected an error containing " .. show(fragment) .. ", got " .. show(raised))
  end
  return raised
end

--- `fn` must run without raising; returns its results.
function t.runs(fn, what)
  local results = table.pack(pcall(fn))
  if not results[1] then fail(what, "expected no error, got " .. show(results[2])) end
  return table.unpack(results, 2, results.n)
end

-- Channels and time -------------------------------------------------------------------------

-- How long a receive waits by default. Only a failing test waits it out, and on a loaded machine
-- (the suite spread over two nodes on worker threads, beside the rest of the test suite) a
-- message or an EXIT across nodes took over 2 s, the earlier default, now and then.
local DEFAULT_WAIT = "10s"

--- value, ok of the next receive on `ch`; fails when nothing arrives within `timeout`.
function t.receive(ch, what, timeout)
  timeout = timeout or DEFAULT_WAIT
  local ready = channel.select({ ch:case_receive(), time.after(timeout):case_receive() })
  if ready.channel ~= ch then fail(what, "nothing arrived within " .. tostring(timeout)) end
  return ready.value, ready.ok
end

--- Nothing arrives on `ch` for `wait`.
function t.silent(ch, wait, what)
  local ready = channel.select({ ch:case_receive(), time.after(wait):case_receive() })
  if ready.channel == ch then
    fail(what, "expected nothing within " .. tostring(wait) .. ", got " .. show(ready.value))
  end
end

--- The next event on `events`, which must be of `kind` and from `from`.
function t.event(events, kind, from, what)
  local event = t.receive(events, what)
  if type(event) ~= "table" or event.kind ~= kind or event.from ~= from then
    fail(what, "expected a " .. kind .. " event from " .. tostring(from) .. ", got " .. show(event))
  end
  return event
end

--- The payload of the next inbox message, which must have `topic`.
function t.message(inbox, topic, what)
  local msg = t.receive(inbox, what)
  if msg:topic() ~= topic then
    fail(what, "expected a message of topic " .. show(topic) .. ", got one of topic " .. show(msg:topic()))
  end
  return msg:payload():data()
end

--- Milliseconds since `t0` (a time.now() value).
function t.ms_since(t0)
  return time.now():sub(t0):milliseconds()
end

return t
