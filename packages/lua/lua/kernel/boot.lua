-- How a process starts and how its end is reported to TypeScript.
local host, rt = ...

local setmetatable, type, select, error, tostring, pcall = setmetatable, type, select, error, tostring, pcall
local codec, is_error, error_from_value, error_data = rt.codec, rt.is_error, rt.error_from_value, rt.error_data
local fiber_starts = rt.fiber_starts
local traceback = debug.traceback

-- msgpack of an empty argument array, and of nil.
local NO_ARGS, NIL = '\x90', '\xc0'

-- Values that always encode: no pcall (a setjmp through JavaScript in this build) for them.
local SCALAR = { number = true, string = true, boolean = true }

--- ErrorData `data`, encoded. Details that cannot leave the process (a function among them)
--- are replaced by `kept` and a note saying so: the error's kind and message always arrive.
local function encode_error(data, kept)
  local ok, encoded = pcall(codec.encode, data)
  if ok then return encoded end
  kept.unsent = 'the error\'s details cannot leave the process: ' ..
    (tostring(encoded):gsub('^[^:]*:%d+: ', ''))
  data.details = kept
  return codec.encode(data)
end

--- (true, encoded first value), or (false, encoded error) when a second value is a string
--- or an error: the process failed by return value. A value that cannot be sent (a function,
--- a coroutine) fails the process with an INVALID error saying so.
local function outcome(entry_id, value, ...)
  if select('#', ...) > 0 then
    local second = ...
    if type(second) == 'string' or is_error(second) then
      return false, encode_error(error_data(error_from_value(second)), { entry = entry_id })
    end
  end
  if value == nil then return true, NIL end
  if SCALAR[type(value)] then return true, codec.encode(value) end
  local ok, encoded = pcall(codec.encode, value)
  if ok then return true, encoded end
  local message = tostring(encoded):gsub('^[^:]*:%d+: ', '')
  return false, codec.encode(error_data(rt.make_error('INVALID',
    entry_id .. ' returned a value that cannot leave it: ' .. message, false)))
end

--- For TypeScript, once the main function of a process of entry `entry_id` returned `value`
--- and `second` (the rest does not count): (true, encoded value) or (false, encoded error), as
--- `outcome` says.
rt.outcome = outcome

--- The body of a process's main fiber: runs the entry's chunk in a fresh environment and
--- calls `method` (nil: 'main'; or the function the chunk returned) with the arguments `args`
--- encodes (nil: none), as a tail call: no frame of boot's stays under the process's code
--- while it runs and waits (an idle process holds a call record and stack slots less).
--- TypeScript turns what it returns into the process's outcome (rt.outcome).
function rt.boot(group, entry, method, args)
  fiber_starts()
  -- Made with its one field's slot (a table made empty grows one for `_G`: a resize per spawn).
  local env = setmetatable({ _G = false }, entry.env_mt)
  env._G = env
  local module = entry.chunk(env)
  -- A chunk that returns one function is that function, whatever `method` says (Wippy's
  -- workflows and activities end with `return main`).
  local fn = module
  if type(module) == 'table' then
    fn = module[method or 'main']
    if type(fn) ~= 'function' then
      error(rt.make_error('INVALID', 'entry ' .. entry.id .. ' has no function "' .. (method or 'main') .. '"', false), 0)
    end
  elseif type(module) ~= 'function' then
    error(rt.make_error('INVALID', 'entry ' .. entry.id .. ' returned ' .. type(module) ..
      ' instead of a function or a table of functions', false), 0)
  end
  -- No arguments is the common case: skip the decoder.
  if args == nil or args == NO_ARGS then return fn() end
  return fn(select(2, codec.decode_values(args)))
end

--- For TypeScript: what a failed fiber raised, as encoded ErrorData. An error object travels
--- exactly as it was made (kind, message, retryable, details); anything else raised (Lua's own
--- "file:line: message" errors, error("text"), error({...})) is described with the entry, its
--- position and the Lua traceback in its details. No metamethod of the value runs.
function rt.describe_error(value, thread, entry)
  local e = error_from_value(value)
  local data = error_data(e)
  if is_error(value) then return encode_error(data, { entry = entry }) end
  local details = { entry = entry }
  -- Read raw: a __pairs of the user's would run here, outside every process.
  if data.details ~= nil then for k, v in next, data.details do details[k] = v end end
  local file, line = tostring(data.message):match('^@?([^:]+):(%d+):')
  if file ~= nil then
    details.file, details.line = file, tonumber(line)
  end
  details.traceback = traceback(thread, nil, 0)
  data.details = details
  return encode_error(data, { entry = entry, traceback = details.traceback })
end
