-- text (docs/lua-api/text.md): text.regexp (RE2 patterns), text.diff (diffs and patches),
-- text.splitter (chunks for language models). The host matches, diffs and splits; here are the
-- objects, the argument checks and the error objects; each part is a library chunk
-- (lua/text_regexp.lua, text_diff.lua, text_splitter.lua) given the helpers below. Objects are
-- tables whose state is kept in weak tables inside those chunks, so Lua code cannot forge one.
local host, rt = ...
local type, ipairs, pairs, error, tostring = type, ipairs, pairs, error, tostring
local mtype = math.type
local pack, unpack = rt.codec.encode, rt.codec.decode

local function invalid(message)
  return nil, rt.make_error('INVALID', message, false)
end

-- nil when `value` is a string (a number reads as its text, as Lua's string functions take it),
-- else why not.
local function text_arg(value, where)
  local t = type(value)
  if t == 'string' then return value end
  if t == 'number' then return tostring(value) end
  return nil, where .. ' must be a string, got ' .. t
end

-- The method's object, or a raised error for a call with `.` instead of `:` (a mistake in the
-- code, not in the data).
local function self_of(states, self, name)
  local state = states[self]
  if state == nil then error(name .. ': call it as a method, with `:`', 3) end
  return state
end

---------------------------------------------------------------------------------------------
-- Options: each module's known keys and their checks; an unknown key is an error.

local function check_options(options, where, spec)
  if options == nil then return {} end
  if type(options) ~= 'table' then
    return nil, where .. ': options must be a table, got ' .. type(options)
  end
  local out = {}
  for key, value in pairs(options) do
    local field = spec[key]
    if field == nil then return nil, where .. ': unknown option ' .. tostring(key) end
    local problem = field.check(value)
    if problem ~= nil then return nil, where .. ': options.' .. key .. ' ' .. problem end
    out[field.name] = value
  end
  return out
end

local function number_in(low, high)
  return function(v)
    if type(v) ~= 'number' or v ~= v then return 'must be a number, got ' .. type(v) end
    if v < low or (high ~= nil and v > high) then
      return 'must be ' .. (high and ('between ' .. low .. ' and ' .. high) or ('at least ' .. low))
        .. ', got ' .. v
    end
  end
end

local function integer_from(low)
  return function(v)
    if mtype(v) ~= 'integer' and not (mtype(v) == 'float' and v == v // 1) then
      return 'must be an integer, got ' .. (type(v) == 'number' and tostring(v) or type(v))
    end
    if v < low then return 'must be at least ' .. low .. ', got ' .. v end
  end
end

local function boolean(v)
  if type(v) ~= 'boolean' then return 'must be a boolean, got ' .. type(v) end
end

local function string_list(v)
  if type(v) ~= 'table' then return 'must be a list of strings, got ' .. type(v) end
  for i, s in ipairs(v) do
    if type(s) ~= 'string' then return '[' .. i .. '] must be a string, got ' .. type(s) end
  end
end

local deps = {
  host = host, pack = pack, unpack = unpack, invalid = invalid, text_arg = text_arg,
  self_of = self_of, check_options = check_options, number_in = number_in,
  integer_from = integer_from, boolean = boolean, string_list = string_list,
  -- Their tables of objects are every process's: see rt.share.
  share = rt.share,
}
return {
  regexp = rt.libs.text_regexp(deps),
  diff = rt.libs.text_diff(deps),
  splitter = rt.libs.text_splitter(deps),
}
