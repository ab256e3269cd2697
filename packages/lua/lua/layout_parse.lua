-- layout_parse: reads a time after a Go layout, for the `time` module. The rules are Go's
-- time.Parse, token for token (the tokens are lua/layout.lua's).
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.calendar: lua/calendar.lua (days_in_month, days_from_civil, civil_from_days)
--   deps.layout: lua/layout.lua (next_token and the month and day names)
-- and returning the parse function:
--
-- parse(layout, value) -> fields | nil, message
--   fields: { year, month, day, hour, min, sec, nsec } (defaults: year 0, January 1, 00:00:00)
--   plus how the text named its zone: zone_utc = true ("Z" or "UTC"), zone_offset (seconds, from
--   "+01:00"), zone_name (an abbreviation such as "EST"), or none of them. message is Go's:
--   'parsing time "x" as "2006": cannot parse "x" as "2006"', 'parsing time "2024-13-01":
--   month out of range'.

local deps = ...
if type(deps) ~= 'table' or type(deps.calendar) ~= 'table' or type(deps.layout) ~= 'table' then
  error('layout_parse.lua: expected deps with calendar and layout (tables)', 2)
end
local calendar, next_token = deps.calendar, deps.layout.next_token
local LONG_MONTHS, SHORT_MONTHS = deps.layout.LONG_MONTHS, deps.layout.SHORT_MONTHS
local LONG_DAYS, SHORT_DAYS = deps.layout.LONG_DAYS, deps.layout.SHORT_DAYS

local byte, sub, lower = string.byte, string.sub, string.lower

local function is_digit(s, i)
  local c = byte(s, i)
  return c ~= nil and c >= 48 and c <= 57
end

local function quote(s)
  return '"' .. s .. '"'
end

--- One or two digits (exactly two when `fixed`) at value[i..]: number, next index.
local function getnum(value, i, fixed)
  if not is_digit(value, i) then return nil end
  if not is_digit(value, i + 1) then
    if fixed then return nil end
    return byte(value, i) - 48, i + 1
  end
  return (byte(value, i) - 48) * 10 + byte(value, i + 1) - 48, i + 2
end

--- Up to three digits (exactly three when `fixed`).
local function getnum3(value, i, fixed)
  local n, j = 0, i
  while j < i + 3 and is_digit(value, j) do
    n = n * 10 + byte(value, j) - 48
    j = j + 1
  end
  if j == i or (fixed and j ~= i + 3) then return nil end
  return n, j
end

--- Digits of a fixed width at value[i..] as a number.
local function digits_at(value, i, width)
  local text = sub(value, i, i + width - 1)
  if #text ~= width or not text:match('^%d+$') then return nil end
  return tonumber(text)
end

--- The index of the name (case-insensitive, as Go) `value` starts with at `i`, and the next index.
local function lookup(names, value, i)
  for index, name in ipairs(names) do
    if lower(sub(value, i, i + #name - 1)) == lower(name) then return index, i + #name end
  end
  return nil
end

--- Fraction digits after the separator at value[i]; `n` bytes in all: nanoseconds.
local function nanoseconds(value, i, n)
  local c = sub(value, i, i)
  if c ~= '.' and c ~= ',' then return nil end
  if n > 10 then n = 10 end
  local text = sub(value, i + 1, i + n - 1)
  if not text:match('^%d*$') then return nil end
  return tonumber(text .. string.rep('0', 9 - #text)) or 0
end

--- Length of a zone abbreviation at value[i..] (Go's parseTimeZone), or nil.
local function zone_length(value, i)
  local rest = sub(value, i)
  if #rest < 3 then return nil end
  if sub(rest, 1, 4) == 'ChST' or sub(rest, 1, 4) == 'MeST' then return 4 end
  if sub(rest, 1, 3) == 'GMT' then
    local signed = rest:match('^GMT([+-]%d+)')
    if signed and tonumber(signed) >= -23 and tonumber(signed) <= 23 then return 3 + #signed end
    return 3
  end
  local c = sub(rest, 1, 1)
  if c == '+' or c == '-' then
    -- Go reads all the digits; an offset beyond 23 hours is no zone.
    local signed = rest:match('^[+-]%d+')
    if signed and math.abs(tonumber(signed)) <= 23 then return #signed end
    return nil
  end
  local letters = rest:match('^%u+')
  local n = letters and #letters or 0
  if n == 3 then return 3 end
  if n == 4 and (sub(letters, 4, 4) == 'T' or sub(letters, 1, 3) == 'WIT') then return 4 end
  if n == 5 and sub(letters, 5, 5) == 'T' then return 5 end
  return nil
end

--- Reads a numeric zone offset after a shape such as "07:00"; seconds and next index, or nil.
local function parse_offset(value, i, shape)
  local sign = sub(value, i, i)
  if sign ~= '+' and sign ~= '-' then return nil end
  local h, m, s, width
  if shape == '07:00' then
    if sub(value, i + 3, i + 3) ~= ':' then return nil end
    h, m, s, width = digits_at(value, i + 1, 2), digits_at(value, i + 4, 2), 0, 6
  elseif shape == '07' then
    h, m, s, width = digits_at(value, i + 1, 2), 0, 0, 3
  elseif shape == '07:00:00' then
    if sub(value, i + 3, i + 3) ~= ':' or sub(value, i + 6, i + 6) ~= ':' then return nil end
    h, m, s, width = digits_at(value, i + 1, 2), digits_at(value, i + 4, 2),
      digits_at(value, i + 7, 2), 9
  elseif shape == '070000' then
    h, m, s, width = digits_at(value, i + 1, 2), digits_at(value, i + 3, 2),
      digits_at(value, i + 5, 2), 7
  else
    h, m, s, width = digits_at(value, i + 1, 2), digits_at(value, i + 3, 2), 0, 5
  end
  if h == nil or m == nil or s == nil then return nil end
  -- Go allows 24 hours and 60 minutes or seconds: some write offsets that way.
  if h > 24 then return nil, 'time zone offset hour' end
  if m > 60 then return nil, 'time zone offset minute' end
  if s > 60 then return nil, 'time zone offset second' end
  local offset = (h * 60 + m) * 60 + s
  return sign == '-' and -offset or offset, i + width
end

local function parse(layout, value)
  local year, month, day, yday, hour, min, sec, nsec = 0, -1, -1, -1, 0, 0, 0, 0
  local pm_set, am_set = false, false
  local result = {}
  local li, vi = 1, 1

  local function cannot(token_text, at)
    return nil, 'parsing time ' .. quote(value) .. ' as ' .. quote(layout) .. ': cannot parse '
      .. quote(sub(value, at)) .. ' as ' .. quote(token_text)
  end
  local function out_of_range(what)
    return nil, 'parsing time ' .. quote(value) .. ': ' .. what .. ' out of range'
  end

  --- Go's skip: the literal text must match; a space matches any run of spaces.
  local function skip(literal)
    local i = 1
    while i <= #literal do
      local c = sub(literal, i, i)
      if c == ' ' then
        if vi <= #value and sub(value, vi, vi) ~= ' ' then return false end
        while sub(literal, i, i) == ' ' do i = i + 1 end
        while sub(value, vi, vi) == ' ' do vi = vi + 1 end
      else
        if sub(value, vi, vi) ~= c then return false end
        i, vi = i + 1, vi + 1
      end
    end
    return true
  end

  while true do
    local start, stop, kind, digits = next_token(layout, li)
    local literal = sub(layout, li, start and start - 1 or #layout)
    if not skip(literal) then return cannot(literal, vi) end
    if start == nil then break end
    local token_text = sub(layout, start, stop)
    li = stop + 1
    local at, range_error = vi, nil
    local n, j
    if kind == 'Year' then
      n = digits_at(value, vi, 2)
      if n then year, j = n >= 69 and 1900 + n or 2000 + n, vi + 2 end
    elseif kind == 'LongYear' then
      n = digits_at(value, vi, 4)
      if n then year, j = n, vi + 4 end
    elseif kind == 'Month' or kind == 'LongMonth' then
      month, j = lookup(kind == 'Month' and SHORT_MONTHS or LONG_MONTHS, value, vi)
      n = month
    elseif kind == 'NumMonth' or kind == 'ZeroMonth' then
      n, j = getnum(value, vi, kind == 'ZeroMonth')
      if n and (n < 1 or n > 12) then range_error = 'month' end
      month = n or month
    elseif kind == 'WeekDay' or kind == 'LongWeekDay' then
      n, j = lookup(kind == 'WeekDay' and SHORT_DAYS or LONG_DAYS, value, vi)
    elseif kind == 'Day' or kind == 'UnderDay' or kind == 'ZeroDay' then
      if kind == 'UnderDay' and sub(value, vi, vi) == ' ' then vi = vi + 1 end
      n, j = getnum(value, vi, kind == 'ZeroDay')
      day = n or day
    elseif kind == 'UnderYearDay' or kind == 'ZeroYearDay' then
      for _ = 1, 2 do
        if kind == 'UnderYearDay' and sub(value, vi, vi) == ' ' then vi = vi + 1 end
      end
      n, j = getnum3(value, vi, kind == 'ZeroYearDay')
      yday = n or yday
    elseif kind == 'Hour' then
      n, j = getnum(value, vi, false)
      if n and n >= 24 then range_error = 'hour' end
      hour = n or hour
    elseif kind == 'Hour12' or kind == 'ZeroHour12' then
      n, j = getnum(value, vi, kind == 'ZeroHour12')
      if n and n > 12 then range_error = 'hour' end
      hour = n or hour
    elseif kind == 'Minute' or kind == 'ZeroMinute' then
      n, j = getnum(value, vi, kind == 'ZeroMinute')
      if n and n >= 60 then range_error = 'minute' end
      min = n or min
    elseif kind == 'Second' or kind == 'ZeroSecond' then
      n, j = getnum(value, vi, kind == 'ZeroSecond')
      if n and n >= 60 then range_error = 'second' end
      sec = n or sec
      -- A fraction in the text that the layout does not ask for is read anyway (as Go does).
      local c = sub(value, j or vi, j or vi)
      if n and (c == '.' or c == ',') and is_digit(value, j + 1) then
        local _, _, next_kind = next_token(layout, li)
        if next_kind ~= 'Frac0' and next_kind ~= 'Frac9' then
          local k = j + 1
          while is_digit(value, k) do k = k + 1 end
          nsec, j = nanoseconds(value, j, k - j), k
        end
      end
    elseif kind == 'PM' or kind == 'pm' then
      local text = sub(value, vi, vi + 1)
      if text == (kind == 'PM' and 'PM' or 'pm') then
        pm_set, n, j = true, 1, vi + 2
      elseif text == (kind == 'PM' and 'AM' or 'am') then
        am_set, n, j = true, 1, vi + 2
      end
    elseif kind == 'TZ' then
      if sub(value, vi, vi + 2) == 'UTC' then
        result.zone_utc, n, j = true, 1, vi + 3
      else
        local length = zone_length(value, vi)
        if length then result.zone_name, n, j = sub(value, vi, vi + length - 1), 1, vi + length end
      end
    elseif kind == 'Frac0' then
      n = nanoseconds(value, vi, 1 + digits)
      if n and #value - vi + 1 >= 1 + digits then nsec, j = n, vi + 1 + digits else n = nil end
    elseif kind == 'Frac9' then
      local c = sub(value, vi, vi)
      n, j = 0, vi
      if (c == '.' or c == ',') and is_digit(value, vi + 1) then
        local k = vi + 1
        while is_digit(value, k) do k = k + 1 end
        nsec, j = nanoseconds(value, vi, k - vi), k
      end
    else
      local family, shape = kind:match('^(%a+):(.*)$')
      if family == 'ISO' and sub(value, vi, vi) == 'Z' then
        result.zone_utc, n, j = true, 1, vi + 1
      else
        n, j = parse_offset(value, vi, shape)
        if n == nil and j ~= nil then range_error, j = j, nil end
        if n then result.zone_offset = n end
      end
    end
    if range_error then return out_of_range(range_error) end
    if n == nil then return cannot(token_text, at) end
    vi = j
  end
  if vi <= #value then
    return nil, 'parsing time ' .. quote(value) .. ': extra text: ' .. quote(sub(value, vi))
  end

  if pm_set and hour < 12 then
    hour = hour + 12
  elseif am_set and hour == 12 then
    hour = 0
  end
  if yday >= 0 then
    local leap = calendar.days_in_month(year, 2) == 29 and 1 or 0
    if yday < 1 or yday > 365 + leap then return out_of_range('day-of-year') end
    local y, m, d = calendar.civil_from_days(calendar.days_from_civil(year, 1, 1) + yday - 1)
    if (month >= 0 and month ~= m) or (day >= 0 and day ~= d) or y ~= year then
      return out_of_range('day-of-year')
    end
    month, day = m, d
  else
    if month < 0 then month = 1 end
    if day < 0 then day = 1 end
  end
  if day < 1 or day > calendar.days_in_month(year, month) then
    return nil, 'parsing time ' .. quote(value) .. ': day out of range'
  end
  result.year, result.month, result.day = year, month, day
  result.hour, result.min, result.sec, result.nsec = hour, min, sec, nsec
  return result
end

return parse
