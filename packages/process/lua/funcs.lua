-- funcs (docs/lua-api/funcs.md): calls of function entries (and TypeScript host functions). Each
-- call runs as a short-lived process of its own; its result arrives on a fed channel.
local host, rt = ...

local setmetatable, type, select, pcall, tostring, error = setmetatable, type, select, pcall, tostring, error
local codec, make_error, new_fed_channel = rt.codec, rt.make_error, rt.new_fed_channel

local NO_VALUES = '\x90'

-- Methods and metatables apart: `obj.__index` must not hand out a table every process shares.
local Future = {}
local FUTURE_MT = { __index = Future, __name = 'future', __metatable = false }

--- The channel yields one table {value = v, error = err} when the call ends.
function Future:channel() return self._channel end
Future.response = Future.channel

function Future:is_complete()
  if self._outcome == nil and self._channel ~= nil then self._channel:_poll() end
  return self._outcome ~= nil
end

--- value, err of the call, waiting for it to end if needed.
function Future:result()
  if self._outcome == nil then self._channel:receive() end
  return self._outcome.value, self._outcome.error
end

function Future:error()
  return select(2, self:result())
end

function Future:cancel()
  if self._outcome ~= nil then return false end
  return host.cancel_call(self._call)
end

local function failed(err)
  local f = setmetatable({}, FUTURE_MT)
  f._outcome = { error = err }
  return f
end

local Executor = {}
local EXECUTOR_MT = { __index = Executor, __name = 'executor', __metatable = false }

local function with(executor, key, value)
  if type(value) ~= 'table' then error(key .. ' expects a table', 3) end
  local copy = setmetatable({}, EXECUTOR_MT)
  for k, v in pairs(executor) do copy[k] = v end
  local merged = {}
  if executor[key] ~= nil then for k, v in pairs(executor[key]) do merged[k] = v end end
  for k, v in pairs(value) do merged[k] = v end
  copy[key] = merged
  return copy
end

function Executor:with_context(values) return with(self, 'context', values) end
function Executor:with_options(options) return with(self, 'options', options) end

function Executor:async(entry, ...)
  if type(entry) ~= 'string' then return failed(make_error('INVALID', 'funcs: entry must be an entry ID string', false)) end
  -- LIMITS: see process.lua.
  if #entry > LIMITS.reference then
    return failed(make_error('INVALID', 'funcs: entry of ' .. #entry .. ' bytes exceeds the limit of ' .. LIMITS.reference .. ' bytes', false))
  end
  local n = select('#', ...)
  local ok, args = true, NO_VALUES
  if n == 1 then args = codec.encode_one((...)) end
  if n > 0 and args == nil or n > 1 then ok, args = pcall(codec.encode_values, n, ...) end
  if not ok then return failed(make_error('INVALID', tostring(args), false)) end
  -- A plain call (the common case) carries no spec at all.
  local spec
  if self.context ~= nil or self.options ~= nil then
    local spec_ok, encoded = pcall(codec.encode, { context = self.context, options = self.options })
    if not spec_ok then return failed(make_error('INVALID', 'funcs: ' .. tostring(encoded), false)) end
    spec = encoded
  end
  local future = setmetatable({}, FUTURE_MT)
  local ch = new_fed_channel('call', function(status, bytes)
    local outcome = rt.as_outcome(status, bytes)
    future._outcome = outcome
    return outcome
  end)
  future._channel = ch
  local call, kind, message = host.call(entry, spec, args, ch.fed_id)
  if call == false then return failed(make_error(kind, message)) end
  future._call = call
  return future
end

function Executor:call(entry, ...)
  return self:async(entry, ...):result()
end

local DEFAULT = setmetatable({}, EXECUTOR_MT)

return {
  -- A fresh executor each time: one shared by every process would take their writes.
  new = function() return setmetatable({}, EXECUTOR_MT) end,
  call = function(entry, ...) return DEFAULT:call(entry, ...) end,
  async = function(entry, ...) return DEFAULT:async(entry, ...) end,
}
