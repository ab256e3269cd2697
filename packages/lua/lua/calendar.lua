-- calendar: the proleptic Gregorian calendar in integer arithmetic, for the `time` module.
--
-- Loaded as a chunk called with no dependencies, returning the module table M. Every function
-- takes and returns integers; days count from 1970-01-01 (day 0), seconds are "wall" seconds of
-- a zone (UTC seconds plus the zone's offset). Floor division keeps dates before 1970 exact.
--
-- M.days_from_civil(year, month, day) -> days; month 1..12, day may run past the month's end
--   (or below 1): it counts on into the next (previous) month.
-- M.civil_from_days(days) -> year, month, day
-- M.seconds_from_civil(year, month, day, hour, min, sec) -> wall seconds; every field may be
--   out of range and carries into the next larger one, as Go's time.Date does (month 13 is
--   January of the next year, minute 60 the next hour).
-- M.fields(wall_seconds) -> { year, month, day, hour, min, sec, wday (0 = Sunday), yday (1..366) }
-- M.days_in_month(year, month) -> 28..31
-- M.remainder_since_year_one(unix_seconds, nanoseconds, d) -> the nanoseconds since 0001-01-01
--   UTC modulo d (d > 0), without overflow for any d up to the largest integer.
-- M.UNIX_TO_YEAR_ONE: seconds from 0001-01-01 to 1970-01-01 (Go's zero Time is 0001-01-01 UTC).

local M = {}

function M.days_from_civil(year, month, day)
  if month <= 2 then year = year - 1 end
  local era = year // 400
  local year_of_era = year - era * 400
  local day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
  local day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
  return era * 146097 + day_of_era - 719468
end

function M.civil_from_days(days)
  days = days + 719468
  local era = days // 146097
  local day_of_era = days - era * 146097
  local year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
    - day_of_era // 146096) // 365
  local day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
  local mp = (5 * day_of_year + 2) // 153
  local day = day_of_year - (153 * mp + 2) // 5 + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = year_of_era + era * 400
  if month <= 2 then year = year + 1 end
  return year, month, day
end

function M.seconds_from_civil(year, month, day, hour, min, sec)
  local m0 = month - 1
  year, month = year + m0 // 12, m0 % 12 + 1
  return M.days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
end

function M.fields(wall)
  local days, in_day = wall // 86400, wall % 86400
  local year, month, day = M.civil_from_days(days)
  return {
    year = year,
    month = month,
    day = day,
    hour = in_day // 3600,
    min = in_day % 3600 // 60,
    sec = in_day % 60,
    wday = (days + 4) % 7,
    yday = days - M.days_from_civil(year, 1, 1) + 1,
  }
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

function M.days_in_month(year, month)
  if month == 2 and year % 4 == 0 and (year % 100 ~= 0 or year % 400 == 0) then return 29 end
  return DAYS_IN_MONTH[month]
end

M.UNIX_TO_YEAR_ONE = -M.days_from_civil(1, 1, 1) * 86400

-- (a + b) mod m and (a * b) mod m for 0 <= a, b < m: the sum may pass 2^63, so it is read as
-- an unsigned number.
local function add_mod(a, b, m)
  local sum = a + b
  if math.ult(sum, m) then return sum end
  return sum - m
end

local function mul_mod(a, b, m)
  local product = 0
  while b > 0 do
    if b & 1 == 1 then product = add_mod(product, a, m) end
    a, b = add_mod(a, a, m), b >> 1
  end
  return product
end

function M.remainder_since_year_one(seconds, nanoseconds, d)
  local since = seconds + M.UNIX_TO_YEAR_ONE
  return add_mod(mul_mod(since % d, 1000000000 % d, d), nanoseconds % d, d)
end

return M
