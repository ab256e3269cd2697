-- Error objects (docs/lua-api/errors.md): kind, message, retryable, details and the stack where
-- the error was made. They keep all of that when they cross processes, nodes and journals
-- (msgpack ext type 1, matching LuactError in TypeScript).
--
-- An error object is a full userdata, as in Wippy: opaque (type() says "userdata"), its fields
-- kept in a weak table only this file reads, so no code can change an error it was handed.
--
-- An error object holds TypeScript's kind ('NOT_FOUND'); Lua code sees Wippy's name for it
-- ('NotFound'). The mapping happens here only: err:kind() and the errors.* constants give the
-- Lua name, and every kind read from Lua is accepted in either spelling.
local host, rt = ...
-- Metatables are compared raw: `==` would run a `__eq` planted on a value's metatable.
local rawequal = rawequal

local setmetatable, type, tostring, tonumber, error, rawget, next =
  setmetatable, type, tostring, tonumber, error, rawget, next
local new_userdata, set_metatable = host.new_userdata, debug.setmetatable
-- The kernel's one maker of full userdata, for modules' opaque values too (time's objects).
rt.new_userdata = new_userdata
local format, match, gmatch = string.format, string.match, string.gmatch
local traceback = debug.traceback
local raw_getmetatable = debug.getmetatable

local KIND_OF = {}   -- either spelling → the kind
local LUA_NAME = {}  -- kind → its Lua name
-- Failures of the environment retry by default; errors about the request itself do not.
local RETRYABLE = {} -- kind → retryable when its creator did not say
local errors = {}
for i = 1, 64 do
  local kind, lua_name, retryable = host.error_kind(i)
  if kind == nil then break end
  KIND_OF[kind], KIND_OF[lua_name] = kind, kind
  LUA_NAME[kind], RETRYABLE[kind] = lua_name, retryable
  errors[kind] = lua_name
end

-- error object → { kind, message, retryable, details, stack, context }; weak keys: an entry
-- goes when its error does.
local FIELDS = setmetatable({}, { __mode = 'k' })
rt.share(FIELDS)

local Error = {}
local ERROR_MT -- set below: its __concat needs the functions in between

--- What tostring and `..` show: the message, after the contexts errors.wrap added.
local function text(e)
  local f = FIELDS[e]
  local context = f.context
  if context == nil then return f.message end
  return context .. ': ' .. f.message
end

local function is_error(value)
  return rawequal(raw_getmetatable(value), ERROR_MT)
end

--- One side of a concatenation with an error: errors as their text; strings and numbers as Lua
--- concatenates them; anything else fails as Lua's own `..` would.
local function concat_part(value)
  if is_error(value) then return text(value) end
  local t = type(value)
  if t == 'string' or t == 'number' then return value end
  error('attempt to concatenate a ' .. t .. ' value', 3)
end

ERROR_MT = {
  __index = Error,
  __name = 'error',
  __metatable = false,
  __tostring = text,
  __concat = function(a, b) return concat_part(a) .. concat_part(b) end,
}

--- An error object as made: `retryable` may be nil (not said), empty details are none.
local function new_error(kind, message, retryable, details, stack, context)
  if details ~= nil and next(details) == nil then details = nil end
  local e = new_userdata()
  FIELDS[e] = {
    kind = kind, message = message, retryable = retryable, details = details, stack = stack,
    context = context,
  }
  return set_metatable(e, ERROR_MT)
end

--- An error the runtime makes: its kind in either spelling (else UNKNOWN); retryable, when not
--- given, is the kind's default (the runtime always says).
local function make(kind, message, retryable, details, stack)
  kind = KIND_OF[kind] or 'UNKNOWN'
  if retryable == nil then retryable = RETRYABLE[kind] end
  return new_error(kind, message, retryable, details, stack, nil)
end

--- The fields of an error object; a method called on anything else fails as Lua's would.
local function fields_of(self, method)
  local f = FIELDS[self]
  if f == nil then error("bad self to '" .. method .. "' (error expected)", 3) end
  return f
end

function Error:kind() return LUA_NAME[fields_of(self, 'kind').kind] end
function Error:message() return fields_of(self, 'message').message end
function Error:retryable() return fields_of(self, 'retryable').retryable end
function Error:details() return fields_of(self, 'details').details end
function Error:stack() return fields_of(self, 'stack').stack end

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
    local retryable, details = rawget(value, 'retryable'), rawget(value, 'details')
    if type(retryable) ~= 'boolean' then retryable = nil end
    if type(details) ~= 'table' then details = nil end
    return make(rawget(value, 'kind'), rawget(value, 'message'), retryable, details, nil)
  end
  -- Any other table travels in the details: "table: 0x…" alone would lose what it said.
  if type(value) == 'table' then
    return make('UNKNOWN', 'a table was raised, not an error: its fields are in details.value',
      nil, { value = value }, nil)
  end
  return make('UNKNOWN', raw_text(value), nil, nil, nil)
end

--- errors.new("message") or errors.new{message = …, kind = …, retryable = …, details = …}
function errors.new(spec)
  if type(spec) == 'string' then
    return new_error('UNKNOWN', spec, nil, nil, traceback('', 2), nil)
  end
  if type(spec) ~= 'table' or type(spec.message) ~= 'string' then
    error('errors.new expects a message or a table with a string message', 2)
  end
  local kind = KIND_OF[spec.kind or '']
  if kind == nil then error('errors.new: unknown kind ' .. raw_text(spec.kind), 2) end
  local retryable = spec.retryable
  if retryable ~= nil and type(retryable) ~= 'boolean' then
    error('errors.new: retryable must be a boolean', 2)
  end
  local details = spec.details
  if details ~= nil and type(details) ~= 'table' then error('errors.new: details must be a table', 2) end
  return new_error(kind, spec.message, retryable, details, traceback('', 2), nil)
end

--- A new error with the cause's message, kind, retryability and details, and `message` added
--- to its context (what tostring shows in front of the message).
function errors.wrap(cause, message)
  if type(message) ~= 'string' then error('errors.wrap expects a message', 2) end
  local inner = FIELDS[from_value(cause)]
  local context = inner.context == nil and message or message .. ': ' .. inner.context
  return new_error(inner.kind, inner.message, inner.retryable, inner.details,
    traceback('', 2), context)
end

function errors.is(value, kind)
  return is_error(value) and FIELDS[value].kind == KIND_OF[kind]
end

--- The stack of an error as data: { frames = { {source, line, name}, … } }, innermost first,
--- Lua frames only; nil for a value that is not an error or an error without a stack.
function errors.call_stack(value)
  local stack = is_error(value) and FIELDS[value].stack
  if not stack then return nil end
  local frames = {}
  for line in gmatch(stack, '[^\n]+') do
    local source, number, what = match(line, '^%s*(.-):(%d+): in (.*)$')
    if source ~= nil then
      local name = match(what, "^%a* ?'(.-)'$") or match(what, '^function <(.-)>$')
      frames[#frames + 1] = { source = source, line = tonumber(number), name = name }
    end
  end
  return { frames = frames }
end

rt.errors = errors
rt.is_error = is_error
rt.make_error = make
rt.error_from_value = from_value
rt.ERROR_MT = ERROR_MT

--- The plain-data form of an error, as TypeScript's ErrorData: its kind, its text (contexts
--- included) and a retryable flag that is always set (the kind's default when not said).
function rt.error_data(e)
  local f = FIELDS[e]
  local retryable = f.retryable
  if retryable == nil then retryable = RETRYABLE[f.kind] end
  local data = { kind = f.kind, message = text(e), retryable = retryable }
  if f.details ~= nil then data.details = f.details end
  return data
end
