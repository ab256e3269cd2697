-- layout: Go's reference-time layouts ("2006-01-02T15:04:05Z07:00"): reading a layout into its
-- tokens, and formatting a time with one, for the `time` module. The rules are Go's time.Format,
-- token for token; lua/layout_parse.lua reads times back with the same tokens.
--
-- Loaded as a chunk called with no dependencies, returning the module table M.
--
-- M.format(layout, f) -> string
--   f: { year, month, day, hour, min, sec, nsec, wday (0 = Sunday), yday, offset (seconds east
--   of UTC), abbrev (the zone's name, may be "") }.
-- M.next_token(layout, i) -> start, stop, kind, digits | nil
--   The next token at or after index i: its span (inclusive), its kind ('LongYear', 'ZeroMonth',
--   'Frac9', 'ISO:07:00', 'Num:0700', ...) and, for fractions, the digit count; nil when the
--   rest of the layout is literal text.
-- M.LONG_MONTHS, M.SHORT_MONTHS, M.LONG_DAYS, M.SHORT_DAYS: English names, Sunday first.

local byte, sub, format = string.byte, string.sub, string.format
local concat = table.concat

local M = {}

local LONG_MONTHS = { 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December' }
local LONG_DAYS = { 'Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday' }
local SHORT_MONTHS, SHORT_DAYS = {}, {}
for i, name in ipairs(LONG_MONTHS) do SHORT_MONTHS[i] = sub(name, 1, 3) end
for i, name in ipairs(LONG_DAYS) do SHORT_DAYS[i] = sub(name, 1, 3) end
M.LONG_MONTHS, M.SHORT_MONTHS, M.LONG_DAYS, M.SHORT_DAYS = LONG_MONTHS, SHORT_MONTHS, LONG_DAYS,
  SHORT_DAYS

local function is_digit(s, i)
  local c = byte(s, i)
  return c ~= nil and c >= 48 and c <= 57
end

local function starts_lower(s, i)
  local c = byte(s, i)
  return c ~= nil and c >= 97 and c <= 122
end

-- Zone tokens after '-' or 'Z', longest first (Go's order).
local ZONE_SHAPES = { '070000', '07:00:00', '0700', '07:00', '07' }

--- The next token of `layout` at or after `i`: start, stop (inclusive), kind, digits; nil when
--- the rest is literal text. Go's nextStdChunk.
local function next_token(layout, i)
  local n = #layout
  while i <= n do
    local c = sub(layout, i, i)
    if c == 'J' and sub(layout, i, i + 2) == 'Jan' then
      if sub(layout, i, i + 6) == 'January' then return i, i + 6, 'LongMonth' end
      if not starts_lower(layout, i + 3) then return i, i + 2, 'Month' end
    elseif c == 'M' then
      if sub(layout, i, i + 2) == 'Mon' then
        if sub(layout, i, i + 5) == 'Monday' then return i, i + 5, 'LongWeekDay' end
        if not starts_lower(layout, i + 3) then return i, i + 2, 'WeekDay' end
      end
      if sub(layout, i, i + 2) == 'MST' then return i, i + 2, 'TZ' end
    elseif c == '0' then
      local d = byte(layout, i + 1)
      if d ~= nil and d >= 49 and d <= 54 then
        return i, i + 1, ({ 'ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond',
          'Year' })[d - 48]
      end
      if sub(layout, i + 1, i + 2) == '02' then return i, i + 2, 'ZeroYearDay' end
    elseif c == '1' then
      if sub(layout, i + 1, i + 1) == '5' then return i, i + 1, 'Hour' end
      return i, i, 'NumMonth'
    elseif c == '2' then
      if sub(layout, i, i + 3) == '2006' then return i, i + 3, 'LongYear' end
      return i, i, 'Day'
    elseif c == '_' then
      if sub(layout, i + 1, i + 1) == '2' then
        -- "_2006" is a literal underscore, then the year.
        if sub(layout, i + 1, i + 4) == '2006' then return i + 1, i + 4, 'LongYear' end
        return i, i + 1, 'UnderDay'
      end
      if sub(layout, i + 1, i + 2) == '_2' then return i, i + 2, 'UnderYearDay' end
    elseif c == '3' then
      return i, i, 'Hour12'
    elseif c == '4' then
      return i, i, 'Minute'
    elseif c == '5' then
      return i, i, 'Second'
    elseif c == 'P' and sub(layout, i + 1, i + 1) == 'M' then
      return i, i + 1, 'PM'
    elseif c == 'p' and sub(layout, i + 1, i + 1) == 'm' then
      return i, i + 1, 'pm'
    elseif c == '-' or c == 'Z' then
      for _, shape in ipairs(ZONE_SHAPES) do
        if sub(layout, i + 1, i + #shape) == shape then
          return i, i + #shape, (c == '-' and 'Num:' or 'ISO:') .. shape
        end
      end
    elseif c == '.' or c == ',' then
      local d = sub(layout, i + 1, i + 1)
      if d == '0' or d == '9' then
        local j = i + 1
        while sub(layout, j, j) == d do j = j + 1 end
        -- Only a run of one digit not followed by another digit is a fraction.
        if not is_digit(layout, j) then
          return i, j - 1, d == '0' and 'Frac0' or 'Frac9', j - i - 1
        end
      end
    end
    i = i + 1
  end
  return nil
end

M.next_token = next_token

-- Formatting -------------------------------------------------------------------------------------

local function pad(n, width)
  return format('%0' .. width .. 'd', n)
end

local function fraction(nsec, digits, trim)
  local text = sub(pad(nsec, 9), 1, digits)
  if trim then
    text = text:gsub('0+$', '')
    if text == '' then return nil end
  end
  return text
end

--- "+hh", "+hhmm", "+hh:mm", "+hhmmss" or "+hh:mm:ss" after a zone shape such as "07:00".
local function offset_text(offset, shape)
  local sign = offset < 0 and '-' or '+'
  offset = offset < 0 and -offset or offset
  local h, m, s = pad(offset // 3600, 2), pad(offset % 3600 // 60, 2), pad(offset % 60, 2)
  if shape == '07' then return sign .. h end
  if shape == '0700' then return sign .. h .. m end
  if shape == '07:00' then return sign .. h .. ':' .. m end
  if shape == '070000' then return sign .. h .. m .. s end
  return sign .. h .. ':' .. m .. ':' .. s
end

local function format_token(kind, f, layout, start, stop, digits)
  if kind == 'LongYear' then return pad(f.year, 4) end
  if kind == 'Year' then return pad(f.year % 100, 2) end
  if kind == 'LongMonth' then return LONG_MONTHS[f.month] end
  if kind == 'Month' then return SHORT_MONTHS[f.month] end
  if kind == 'NumMonth' then return tostring(f.month) end
  if kind == 'ZeroMonth' then return pad(f.month, 2) end
  if kind == 'LongWeekDay' then return LONG_DAYS[f.wday + 1] end
  if kind == 'WeekDay' then return SHORT_DAYS[f.wday + 1] end
  if kind == 'Day' then return tostring(f.day) end
  if kind == 'UnderDay' then return format('%2d', f.day) end
  if kind == 'ZeroDay' then return pad(f.day, 2) end
  if kind == 'UnderYearDay' then return format('%3d', f.yday) end
  if kind == 'ZeroYearDay' then return pad(f.yday, 3) end
  if kind == 'Hour' then return pad(f.hour, 2) end
  if kind == 'Hour12' then return tostring((f.hour + 11) % 12 + 1) end
  if kind == 'ZeroHour12' then return pad((f.hour + 11) % 12 + 1, 2) end
  if kind == 'Minute' then return tostring(f.min) end
  if kind == 'ZeroMinute' then return pad(f.min, 2) end
  if kind == 'Second' then return tostring(f.sec) end
  if kind == 'ZeroSecond' then return pad(f.sec, 2) end
  if kind == 'PM' then return f.hour >= 12 and 'PM' or 'AM' end
  if kind == 'pm' then return f.hour >= 12 and 'pm' or 'am' end
  if kind == 'TZ' then
    if f.abbrev ~= '' then return f.abbrev end
    return offset_text(f.offset, '0700')
  end
  if kind == 'Frac0' or kind == 'Frac9' then
    local text = fraction(f.nsec, digits, kind == 'Frac9')
    return text and sub(layout, start, start) .. text or ''
  end
  local family, shape = kind:match('^(%a+):(.*)$')
  if family == 'ISO' and f.offset == 0 then return 'Z' end
  return offset_text(f.offset, shape)
end

function M.format(layout, f)
  local out, i = {}, 1
  while true do
    local start, stop, kind, digits = next_token(layout, i)
    if start == nil then break end
    out[#out + 1] = sub(layout, i, start - 1)
    out[#out + 1] = format_token(kind, f, layout, start, stop, digits)
    i = stop + 1
  end
  out[#out + 1] = sub(layout, i)
  return concat(out)
end

return M
