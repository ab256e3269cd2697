-- math inside workflows: math.random draws from the run's own generator, seeded per run, so
-- a replay draws the same numbers; math.randomseed reseeds it.
local host = ...

local floor, type, error, math_type = math.floor, type, error, math.type
local random = host.random

local m = {}
for _, name in ipairs({
  'abs', 'ceil', 'cos', 'deg', 'exp', 'floor', 'fmod', 'huge', 'log', 'max', 'maxinteger',
  'min', 'mininteger', 'modf', 'pi', 'rad', 'sin', 'sqrt', 'tan', 'tointeger', 'type', 'ult',
  'atan', 'acos', 'asin',
}) do m[name] = math[name] end

function m.random(lo, hi)
  local r = random()
  if lo == nil then return r end
  if hi == nil then lo, hi = 1, lo end
  if math_type(lo) ~= 'integer' or math_type(hi) ~= 'integer' then
    error('math.random: bounds must be integers', 2)
  end
  if lo > hi then error('math.random: interval is empty', 2) end
  return lo + floor(r * (hi - lo + 1))
end

function m.randomseed(seed)
  if type(seed) ~= 'number' then error('math.randomseed expects a number', 2) end
  host.reseed(seed)
end

return m
