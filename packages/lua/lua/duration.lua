-- duration: durations for the built-in `time` module, as integers of nanoseconds.
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.new_error(kind, message) -> error value returned to Lua callers
-- and returning the module table M.
--
-- M.parse(text) -> integer_ns | nil, err
--   Go's time.ParseDuration syntax, [-+]?([0-9]*(\.[0-9]*)?unit)+ with units ns, us, µs (U+00B5),
--   μs (U+03BC), ms, s, m, h, plus d (24h): "300ms", "1.5h", "2h45m", "-1.5h", "1µs", ".5s".
--   "0" (optionally signed) needs no unit; any other number without a unit is an error with a
--   hint. Results follow Go to the nanosecond (same integer and float arithmetic), including
--   the range -2^63 .. 2^63-1 ns (about ±292 years); beyond it is an error. No whitespace is
--   allowed anywhere. Errors are deps.new_error("INVALID", message), messages prefixed "time: ".
--   Raises if text is not a string.
-- M.format(ns) -> string
--   Exactly Go's time.Duration.String(): "1h30m0s", "1.5s", "250ms", "1.5µs" (U+00B5),
--   "100ns", "0s", "-1.5h" as "-1h30m0s"; hours are the largest unit (no days), so
--   format(parse(s)) == s does not hold in general but parse(format(ns)) == ns always does.
--   ns must be an integer (or a float with an integral value in the int64 range); anything
--   else raises.
-- M.normalize(value) -> integer_ns | nil, err
--   An integer is taken as nanoseconds; a float is truncated toward zero (NaN, inf and values
--   outside the int64 range are errors); a string is parsed with M.parse. Raises on any other
--   type.
-- M.NANOSECOND, MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY: integer nanoseconds.

local deps = ...
if type(deps) ~= "table" or type(deps.new_error) ~= "function" then
  error("duration.lua: expected deps with new_error (function)", 2)
end

local new_error = deps.new_error

local byte, sub, format, concat = string.byte, string.sub, string.format, table.concat
local ult, tointeger, maxinteger, mininteger = math.ult, math.tointeger, math.maxinteger,
  math.mininteger

local M = {}

M.NANOSECOND = 1
M.MICROSECOND = 1000
M.MILLISECOND = 1000 * M.MICROSECOND
M.SECOND = 1000 * M.MILLISECOND
M.MINUTE = 60 * M.SECOND
M.HOUR = 60 * M.MINUTE
M.DAY = 24 * M.HOUR

local UNITS = {
  ns = M.NANOSECOND,
  us = M.MICROSECOND,
  ["\u{00B5}s"] = M.MICROSECOND, -- µs, micro sign
  ["\u{03BC}s"] = M.MICROSECOND, -- μs, Greek small letter mu
  ms = M.MILLISECOND,
  s = M.SECOND,
  m = M.MINUTE,
  h = M.HOUR,
  d = M.DAY,
}

-- Go computes with uint64; here Lua's 64-bit integers are used as unsigned numbers: + and *
-- wrap modulo 2^64 and math.ult compares unsigned. TWO63 is 1<<63 as an unsigned number.
local TWO63 = mininteger
local INT_LIMIT = maxinteger // 10 -- (1<<63)/10 and (1<<63-1)/10 are equal

-- (1<<63)/unit for each unit (unsigned); only unit 1 is a power of two, so for the others
-- maxinteger // unit is the same number.
local UNIT_LIMIT = {}
for name, unit in pairs(UNITS) do
  UNIT_LIMIT[name] = unit == 1 and TWO63 or maxinteger // unit
end

local function invalid(message)
  return nil, new_error("INVALID", "time: " .. message)
end

local function quote(s)
  return '"' .. s .. '"'
end

local function is_digit(c)
  return c ~= nil and c >= 48 and c <= 57
end

-- Go's leadingInt: digits at s[i..]; returns value, next index, or nil on overflow.
local function leading_int(s, i)
  local x = 0
  local c = byte(s, i)
  while is_digit(c) do
    if ult(INT_LIMIT, x) then
      return nil
    end
    x = x * 10 + (c - 48)
    if ult(TWO63, x) then
      return nil
    end
    i = i + 1
    c = byte(s, i)
  end
  return x, i
end

-- Go's leadingFraction: digits at s[i..]; returns value, scale (float), next index. Digits past
-- the point where the value would overflow are consumed and ignored.
local function leading_fraction(s, i)
  local x, scale, overflow = 0, 1.0, false
  local c = byte(s, i)
  while is_digit(c) do
    if not overflow then
      if ult(maxinteger // 10, x) then
        overflow = true
      else
        local y = x * 10 + (c - 48)
        if ult(TWO63, y) then
          overflow = true
        else
          x = y
          scale = scale * 10
        end
      end
    end
    i = i + 1
    c = byte(s, i)
  end
  return x, scale, i
end

function M.parse(text)
  if type(text) ~= "string" then
    error("duration.parse: expected a string, got " .. type(text), 2)
  end
  local orig, n = text, #text
  local i = 1
  local neg = false
  local c = byte(text, 1)
  if c == 45 or c == 43 then -- '-' or '+'
    neg = c == 45
    i = 2
  end
  if sub(text, i) == "0" then
    return 0
  end
  if i > n then
    return invalid("invalid duration " .. quote(orig) .. ' (expected e.g. "250ms", "5s", "1h30m")')
  end
  local out_of_range = "duration " .. quote(orig)
    .. " out of range (at most about 292 years, 2562047h47m16.854775807s)"
  local d = 0
  while i <= n do
    c = byte(text, i)
    -- the next character must be [0-9.]
    if not (c == 46 or is_digit(c)) then
      return invalid("invalid duration " .. quote(orig))
    end
    local start = i
    local v
    v, i = leading_int(text, i)
    if not v then
      return invalid(out_of_range)
    end
    local pre = i ~= start -- digits before a '.'
    local f, scale, post = 0, 1.0, false
    if byte(text, i) == 46 then
      local after_dot = i + 1
      f, scale, i = leading_fraction(text, after_dot)
      post = i ~= after_dot
    end
    if not pre and not post then -- no digits, e.g. ".s" or "-.s"
      return invalid("invalid duration " .. quote(orig))
    end
    -- the unit runs up to the next '.' or digit
    local unit_start = i
    c = byte(text, i)
    while c ~= nil and c ~= 46 and not is_digit(c) do
      i = i + 1
      c = byte(text, i)
    end
    if i == unit_start then
      if i > n then -- the text ends with a number
        return invalid("missing unit in duration " .. quote(orig) .. " (add a unit, e.g. "
          .. quote(orig .. "s") .. ")")
      end
      return invalid("missing unit in duration " .. quote(orig))
    end
    local name = sub(text, unit_start, i - 1)
    local unit = UNITS[name]
    if not unit then
      return invalid("unknown unit " .. quote(name) .. " in duration " .. quote(orig)
        .. " (units: ns, us, µs, ms, s, m, h, d)")
    end
    if ult(UNIT_LIMIT[name], v) then
      return invalid(out_of_range)
    end
    v = v * unit
    if f > 0 then
      -- float64 as in Go: nanosecond-exact for fractions of the largest units
      v = v + tointeger(f * (unit / scale) // 1)
      if ult(TWO63, v) then
        return invalid(out_of_range)
      end
    end
    d = d + v
    if ult(TWO63, d) then
      return invalid(out_of_range)
    end
  end
  if neg then
    return -d -- for d == 1<<63 this wraps to math.mininteger, as intended
  end
  if ult(maxinteger, d) then
    return invalid(out_of_range)
  end
  return d
end

-- Go's fmtFrac: the `prec` low decimal digits of v as ".ddd" without trailing zeros (nothing
-- when they are all zero), and v with those digits removed.
local function frac(v, prec)
  local digits, printing = {}, false
  for k = prec, 1, -1 do
    local digit = v % 10
    printing = printing or digit ~= 0
    if printing then
      digits[k] = digit
    else
      digits[k] = ""
    end
    v = v // 10
  end
  if not printing then
    return "", v
  end
  return "." .. concat(digits), v
end

function M.format(ns)
  local d = type(ns) == "number" and tointeger(ns) or nil
  if not d then
    error("duration.format: expected an integer number of nanoseconds, got "
      .. (type(ns) == "number" and tostring(ns) or type(ns)), 2)
  end
  if d == mininteger then -- -d is not representable; Go prints:
    return "-2562047h47m16.854775808s"
  end
  local sign = ""
  if d < 0 then
    sign, d = "-", -d
  end
  if d < M.SECOND then
    if d == 0 then
      return "0s"
    end
    local prec, unit
    if d < M.MICROSECOND then
      prec, unit = 0, "ns"
    elseif d < M.MILLISECOND then
      prec, unit = 3, "\u{00B5}s"
    else
      prec, unit = 6, "ms"
    end
    local fraction, whole = frac(d, prec)
    return sign .. whole .. fraction .. unit
  end
  local fraction, secs = frac(d, 9)
  local out = (secs % 60) .. fraction .. "s"
  local mins = secs // 60
  if mins > 0 then
    out = (mins % 60) .. "m" .. out
    local hours = mins // 60
    if hours > 0 then
      out = hours .. "h" .. out
    end
  end
  return sign .. out
end

function M.normalize(value)
  local tv = type(value)
  if tv == "string" then
    return M.parse(value)
  end
  if tv ~= "number" then
    error("duration: expected a duration (integer nanoseconds, number or string like \"5s\"), got "
      .. tv, 2)
  end
  if math.type(value) == "integer" then
    return value
  end
  if value ~= value or value == math.huge or value == -math.huge then
    return invalid("invalid duration " .. tostring(value) .. " (must be a finite number)")
  end
  local truncated = value >= 0 and math.floor(value) or math.ceil(value)
  local ns = tointeger(truncated)
  if not ns then
    return invalid(format("duration %.17g ns out of range (at most about 292 years)", value))
  end
  return ns
end

return M
