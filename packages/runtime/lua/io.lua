-- io (docs/lua-api/io.md): the console of a terminal.host's processes. Writes go straight to
-- stdout or stderr; reads wait in a fed channel of the calling process, answered by TypeScript
-- when the input is there, so only the reader waits. Outside a terminal host every call but
-- args() is nil, err (UNAVAILABLE).
local host, rt = ...

local type, select, error, math_type, to_integer = type, select, error, math.type, math.tointeger
local concat = table.concat
local tostring = rt.builtins.tostring
local make_error, is_error, new_fed_channel = rt.make_error, rt.is_error, rt.new_fed_channel
local write_stdout, write_stderr, start_read = host.write_stdout, host.write_stderr, host.read

local DEFAULT_READ_BYTES = 1024
local LINE = 0

--- The arguments as text, each through tostring, joined by `separator`.
local function joined(separator, ...)
  local n = select('#', ...)
  local parts = { ... }
  for i = 1, n do parts[i] = tostring(parts[i]) end
  return concat(parts, separator, 1, n)
end

local function answer(ok, kind, message)
  if ok == false then return nil, make_error(kind, message, false) end
  return true
end

--- A read's answer: the bytes read, or the error TypeScript delivered.
local function delivered(ok, data_or_kind, message)
  if ok then return data_or_kind end
  return make_error(data_or_kind, message, false)
end

local function read(count)
  local ch = new_fed_channel('io', delivered)
  local ok, kind, message = start_read(rt.fed_id_of(ch), count)
  if ok == false then return nil, make_error(kind, message, false) end
  local value = ch:receive()
  if is_error(value) then return nil, value end
  return value
end

local io = {}

function io.write(...)
  return answer(write_stdout(joined('', ...)))
end

function io.print(...)
  return answer(write_stdout(joined('\t', ...) .. '\n'))
end

function io.eprint(...)
  return answer(write_stderr(joined('\t', ...) .. '\n'))
end

function io.read(n)
  if n == nil then n = DEFAULT_READ_BYTES end
  if math_type(n) == 'float' then n = to_integer(n) or n end
  if math_type(n) ~= 'integer' then
    local got = type(n) == 'number' and tostring(n) or type(n)
    error('io.read expects a byte count (an integer), got ' .. got, 2)
  end
  if n <= 0 then n = DEFAULT_READ_BYTES end
  return read(n)
end

function io.readline()
  return read(LINE)
end

function io.flush()
  return answer(host.flush())
end

function io.args()
  return { host.args() }
end

function io.raw(enable)
  if enable == nil then enable = true end
  if type(enable) ~= 'boolean' then
    error('io.raw expects true or false, got ' .. type(enable), 2)
  end
  return answer(host.raw(enable))
end

return io
