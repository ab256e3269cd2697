-- type_validators: the validators of declared types (docs/lua-api/types.md): @min, @max,
-- @min_len, @max_len and @pattern. Used by types.lua.
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.pattern_test(pattern, subject) -> boolean | nil, message   a regular expression test
--   deps.shown(v)                       -> v as a message shows it
-- and returning:
--   M.run(name, arg, v)     -> nil when v passes validator `name` with argument `arg`, else why
--   M.problem(name, arg)    -> nil when `arg` suits validator `name`, else what is wrong with it
--   M.known(name)           -> whether there is a validator of that name
local deps = ...

local type, tostring, next = type, tostring, next
local math_type, floor, huge = math.type, math.floor, math.huge
local format, utf8_len = string.format, utf8.len
local pattern_test, shown = deps.pattern_test, deps.shown

local M = {}

--- A string's length in characters (bytes when it is not UTF-8), a table's in entries.
local function length(v)
  if type(v) == 'string' then return utf8_len(v) or #v end
  local n = #v
  if n == 0 and next(v) ~= nil then
    for _ in next, v do n = n + 1 end
  end
  return n
end

local function number_text(n)
  if math_type(n) == 'float' and n == floor(n) and n ~= huge and n ~= -huge then
    return format('%d', n)
  end
  return tostring(n)
end

local VALIDATE = {
  min = function(arg, v)
    if type(v) ~= 'number' then return '@min applies to numbers, got ' .. type(v) end
    if v < arg then return number_text(v) .. ' is less than the minimum ' .. number_text(arg) end
  end,
  max = function(arg, v)
    if type(v) ~= 'number' then return '@max applies to numbers, got ' .. type(v) end
    if v > arg then return number_text(v) .. ' is greater than the maximum ' .. number_text(arg) end
  end,
  min_len = function(arg, v)
    if type(v) ~= 'string' and type(v) ~= 'table' then
      return '@min_len applies to strings and tables, got ' .. type(v)
    end
    local n = length(v)
    if n < arg then return format('length %d is less than the minimum length %d', n, arg) end
  end,
  max_len = function(arg, v)
    if type(v) ~= 'string' and type(v) ~= 'table' then
      return '@max_len applies to strings and tables, got ' .. type(v)
    end
    local n = length(v)
    if n > arg then return format('length %d is greater than the maximum length %d', n, arg) end
  end,
  pattern = function(arg, v)
    if type(v) ~= 'string' then return '@pattern applies to strings, got ' .. type(v) end
    if not pattern_test(arg, v) then return shown(v) .. ' does not match the pattern ' .. arg end
  end,
}

--- What a validator's argument must be; a message when it is not.
function M.problem(name, arg)
  if name == 'pattern' then
    if type(arg) ~= 'string' then return 'expects a regular expression (a string)' end
    local _, problem = pattern_test(arg, '')
    if problem ~= nil then return 'has an invalid regular expression: ' .. problem end
  elseif name == 'min' or name == 'max' then
    if type(arg) ~= 'number' then return 'expects a number' end
  elseif type(arg) ~= 'number' or arg ~= floor(arg) or arg < 0 then
    return 'expects a whole number of 0 or more'
  end
  return nil
end

function M.run(name, arg, v)
  return VALIDATE[name](arg, v)
end

function M.known(name)
  return VALIDATE[name] ~= nil
end

return M
