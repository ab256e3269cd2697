-- Error objects (docs/lua-api/errors.md): kind, message, retryable, details and the stack where
-- the error was made. They keep all of that when they cross processes, nodes and journals
-- (msgpack ext type 1, matching LuactError in TypeScript).
local host, rt = ...

local setmetatable, type, tostring, error, rawget = setmetatable, type, tostring, error, rawget
local format = string.format
local traceback = debug.traceback
local raw_getmetatable = debug.getmetatable

local KINDS = {
  'NOT_FOUND', 'ALREADY_EXISTS', 'INVALID', 'PERMISSION_DENIED', 'UNAVAILABLE', 'INTERNAL',
  'CANCELED', 'CONFLICT', 'TIMEOUT', 'RATE_LIMITED', 'UNKNOWN',
}
-- Failures of the environment retry by default; errors about the request itself do not.
local RETRYABLE = {
  NOT_FOUND = false, ALREADY_EXISTS = false, INVALID = false, PERMISSION_DENIED = false,
  UNAVAILABLE = true, INTERNAL = true, CANCELED = false, CONFLICT = false, TIMEOUT = true,
  RATE_LIMITED = true, UNKNOWN = true,
}

local Error = {}
local ERROR_MT = {
  __index = Error,
  __name = 'error',
  __metatable = false,
  __tostring = function(e) return e._message end,
}

local function is_error(value)
  return raw_getmetatable(value) == ERROR_MT
end

local function make(kind, message, retryable, details, stack)
  if retryable == nil then retryable = RETRYABLE[kind] end
  return setmetatable({
    _kind = kind, _message = message, _retryable = retryable, _details = details, _stack = stack,
  }, ERROR_MT)
end

function Error:kind() return self._kind end
function Error:message() return self._message end
function Error:retryable() return self._retryable end
function Error:details() return self._details end
function Error:stack() return self._stack end

--- The text of a value that is neither a string nor an error, read without running any of
--- its metamethods: the kernel describes errors outside every process, where user code
--- (a looping __tostring or __index) must never run.
local function raw_text(value)
  local t = type(value)
  if t == 'table' or t == 'userdata' or t == 'function' or t == 'thread' then
    return t .. ': ' .. format('%p', value)
  end
  return tostring(value)
end

--- Any raised value as an error object; Lua's own "file:line: message" strings become UNKNOWN.
--- A plain table with a string `message` (and `kind`, `retryable`, `details`) is read raw.
local function from_value(value)
  if is_error(value) then return value end
  if type(value) == 'string' then return make('UNKNOWN', value, nil, nil, nil) end
  if type(value) == 'table' and type(rawget(value, 'message')) == 'string' then
    local kind = rawget(value, 'kind')
    if type(kind) ~= 'string' or RETRYABLE[kind] == nil then kind = 'UNKNOWN' end
    local retryable, details = rawget(value, 'retryable'), rawget(value, 'details')
    if type(retryable) ~= 'boolean' then retryable = nil end
    if type(details) ~= 'table' then details = nil end
    return make(kind, rawget(value, 'message'), retryable, details, nil)
  end
  return make('UNKNOWN', raw_text(value), nil, nil, nil)
end

local errors = {}
for _, kind in ipairs(KINDS) do errors[kind] = kind end

--- errors.new("message") or errors.new{message = …, kind = …, retryable = …, details = …}
function errors.new(spec)
  if type(spec) == 'string' then
    return make('UNKNOWN', spec, nil, nil, traceback('', 2))
  end
  if type(spec) ~= 'table' or type(spec.message) ~= 'string' then
    error('errors.new expects a message or a table with a string message', 2)
  end
  local kind = spec.kind or 'UNKNOWN'
  if RETRYABLE[kind] == nil then error('errors.new: unknown kind ' .. tostring(kind), 2) end
  local retryable = spec.retryable
  if retryable ~= nil and type(retryable) ~= 'boolean' then
    error('errors.new: retryable must be a boolean', 2)
  end
  local details = spec.details
  if details ~= nil and type(details) ~= 'table' then error('errors.new: details must be a table', 2) end
  return make(kind, spec.message, retryable, details, traceback('', 2))
end

--- A new error with `message: <cause's message>`, keeping the cause's kind, retryability and details.
function errors.wrap(cause, message)
  if type(message) ~= 'string' then error('errors.wrap expects a message', 2) end
  local inner = from_value(cause)
  return make(inner._kind, message .. ': ' .. inner._message, inner._retryable, inner._details,
    traceback('', 2))
end

function errors.is(value, kind)
  return is_error(value) and value._kind == kind
end

rt.errors = errors
rt.is_error = is_error
rt.make_error = make
rt.error_from_value = from_value
rt.ERROR_MT = ERROR_MT

--- The plain-data form of an error, as TypeScript's ErrorData.
function rt.error_data(e)
  local data = { kind = e._kind, message = e._message, retryable = e._retryable }
  if e._details ~= nil then data.details = e._details end
  return data
end
