-- How a process starts and how its end is reported to TypeScript.
local host, rt = ...

local setmetatable, type, select, error, tostring = setmetatable, type, select, error, tostring
local table_pack, table_unpack = table.pack, table.unpack
local codec, is_error, error_from_value, error_data = rt.codec, rt.is_error, rt.error_from_value, rt.error_data
local traceback = debug.traceback

--- The body of a process's main fiber: runs the entry's chunk in a fresh environment, calls
--- `method` with the decoded arguments, and returns ("ok", encoded value) or ("error", encoded
--- error) — a second return value that is a string or an error means the process failed.
function rt.boot(group, entry, method, args)
  rt.mark_fiber()
  local env = setmetatable({}, entry.env_mt)
  env._G = env
  local module = entry.chunk(env)
  if type(module) ~= 'table' then
    error(rt.make_error('INVALID', 'entry ' .. entry.id .. ' returned ' .. type(module) ..
      ' instead of a table of functions', false), 0)
  end
  local fn = module[method]
  if type(fn) ~= 'function' then
    error(rt.make_error('INVALID', 'entry ' .. entry.id .. ' has no function "' .. method .. '"', false), 0)
  end
  local results = table_pack(fn(select(2, codec.decode_values(args))))
  local second = results[2]
  if results.n >= 2 and (type(second) == 'string' or is_error(second)) then
    return 'error', codec.encode(error_data(error_from_value(second)))
  end
  return 'ok', codec.encode(results[1])
end

--- For TypeScript: what a failed fiber raised, as encoded ErrorData with the Lua traceback.
function rt.describe_error(value, thread)
  local e = error_from_value(value)
  local data = error_data(e)
  local details = {}
  if data.details ~= nil then for k, v in pairs(data.details) do details[k] = v end end
  local file, line = tostring(e._message):match('^@?([^:]+):(%d+):')
  if file ~= nil then
    details.file, details.line = file, tonumber(line)
  end
  details.traceback = traceback(thread, nil, 0)
  data.details = details
  local ok, encoded = pcall(codec.encode, data)
  if ok then return encoded end
  data.details = { traceback = details.traceback }
  return codec.encode(data)
end

function rt.memory_kb()
  return collectgarbage('count')
end

function rt.collect()
  collectgarbage('collect')
  return collectgarbage('count')
end

