-- funcs (docs/lua-api/funcs.md): calls of function entries (and TypeScript host functions). Each
-- call runs as a short-lived process of its own; its result arrives on a fed channel.
local host, rt = ...

local setmetatable, type, select, pcall, tostring, error = setmetatable, type, select, pcall, tostring, error
local codec, make_error, new_fed_channel = rt.codec, rt.make_error, rt.new_fed_channel
local await_fed, is_payload = rt.await_fed, rt.is_payload

local NO_VALUES = '\x90'

-- Methods and metatables apart: `obj.__index` must not hand out a table every process shares.
local Future = {}
local FUTURE_MT = { __index = Future, __name = 'future', __metatable = false }

--- A successful call's channel yields a payload (the kernel's): payload:data() is the value.
local new_payload = rt.new_payload

--- The channel yields once when the call ends: a payload, or the call's error object.
function Future:channel() return self._channel end
Future.response = Future.channel

function Future:is_complete()
  if self._outcome == nil then self._channel:_poll() end
  return self._outcome ~= nil
end

function Future:is_canceled() return self._canceled == true end

--- Does not wait: nil, nil while the call runs; then the payload, or nil and the error.
function Future:result()
  if not self:is_complete() then return nil, nil end
  local outcome = self._outcome
  if outcome.error ~= nil then return nil, outcome.error end
  return outcome.payload, nil
end

--- Does not wait: the call's error and true once it failed; nil and false otherwise.
function Future:error()
  if not self:is_complete() or self._outcome.error == nil then return nil, false end
  return self._outcome.error, true
end

--- Stops the call. Once canceled, the future is complete with a CANCELED error at once (as in
--- Wippy): result() and the channel give that error, whatever the stopped call ends with.
function Future:cancel()
  if self._outcome ~= nil then return false end
  local canceled = host.cancel_call(self._call)
  if canceled then
    self._canceled = true
    self._outcome = { error = make_error('CANCELED', 'call canceled', false) }
  end
  return canceled
end

local Executor = {}
local EXECUTOR_MT = { __index = Executor, __name = 'executor', __metatable = false }

-- What each executor carries ({context, options}), kept by the kernel: an executor is an
-- immutable value, and fields written into it are not read.
local SPECS = setmetatable({}, { __mode = 'k' })
rt.share(SPECS)

local function with(executor, key, value, what)
  local spec = SPECS[executor] or {}
  local copy = setmetatable({}, EXECUTOR_MT)
  SPECS[copy] = { context = spec.context, options = spec.options }
  SPECS[copy][key] = rt.merged_fields(spec[key], value, what, 3)
  return copy
end

function Executor:with_context(values) return with(self, 'context', values, 'with_context') end
function Executor:with_options(options) return with(self, 'options', options, 'with_options') end

--- A call of `entry` as the host takes it: its arguments and its spec (nil for a plain call,
--- the common case), encoded; or false and the error.
local function request(executor, entry, ...)
  if type(entry) ~= 'string' then return false, make_error('INVALID', 'funcs: entry must be an entry ID string', false) end
  -- LIMITS: see process.lua.
  if #entry > LIMITS.reference then
    return false, make_error('INVALID', 'funcs: entry of ' .. #entry .. ' bytes exceeds the limit of ' .. LIMITS.reference .. ' bytes', false)
  end
  local n = select('#', ...)
  local ok, args = true, NO_VALUES
  if n == 1 then args = codec.encode_one((...)) end
  if n > 0 and args == nil or n > 1 then ok, args = pcall(codec.encode_values, n, ...) end
  if not ok then return false, make_error('INVALID', tostring(args), false) end
  local fields = SPECS[executor]
  if fields == nil then return args, nil end
  local spec_ok, spec = pcall(codec.encode, fields)
  if not spec_ok then return false, make_error('INVALID', 'funcs: ' .. tostring(spec), false) end
  return args, spec
end

--- A future for a call of `entry`, or nil and the error when the call cannot start.
function Executor:async(entry, ...)
  local args, spec = request(self, entry, ...)
  if args == false then return nil, spec end
  local future = setmetatable({}, FUTURE_MT)
  local ch = new_fed_channel('call', function(status, bytes)
    if future._canceled then return future._outcome.error end
    local value = codec.decode(bytes)
    if status == 'ok' then
      local payload = new_payload(value)
      future._outcome = { payload = payload }
      return payload
    end
    future._outcome = { error = value }
    return value
  end)
  future._channel = ch
  local call, kind, message, retryable = host.call(entry, spec, args, rt.fed_id_of(ch))
  if call == false then return nil, make_error(kind, message, retryable) end
  future._call = call
  return future
end

--- Calls `entry` and waits: its value, or nil and its error. No future is made: the result is
--- taken from the channel the host made for it as soon as it is there.
function Executor:call(entry, ...)
  local args, spec = request(self, entry, ...)
  if args == false then return nil, spec end
  local call, channel, status, bytes = host.call(entry, spec, args)
  -- A refusal: false, kind, message, retryable.
  if call == false then return nil, make_error(channel, status, bytes) end
  if status == nil then status, bytes = await_fed(channel) end
  local value = codec.decode(bytes)
  if status ~= 'ok' then return nil, value end
  -- What a future's payload:data() gives: a payload the function returned is read.
  if is_payload(value) then return (value:data()) end
  return value
end

local DEFAULT = setmetatable({}, EXECUTOR_MT)

return {
  -- A fresh executor each time: one shared by every process would take their writes.
  new = function() return setmetatable({}, EXECUTOR_MT) end,
  call = function(entry, ...) return DEFAULT:call(entry, ...) end,
  async = function(entry, ...) return DEFAULT:async(entry, ...) end,
}
