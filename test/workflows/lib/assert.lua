-- Assertions for workflow tests: each raises with what differs.
local function show(v)
  if type(v) ~= 'table' then return tostring(v) end
  local parts = {}
  for k, item in pairs(v) do parts[#parts + 1] = tostring(k) .. '=' .. show(item) end
  return '{' .. table.concat(parts, ', ') .. '}'
end

local function same(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local t = {}

function t.eq(actual, expected, what)
  if not same(actual, expected) then
    error((what or 'value') .. ': expected ' .. show(expected) .. ', got ' .. show(actual), 2)
  end
end

function t.ok(value, what)
  if not value then error((what or 'condition') .. ' does not hold', 2) end
end

function t.contains(text, part, what)
  if type(text) ~= 'string' or not text:find(part, 1, true) then
    error((what or 'text') .. ': "' .. tostring(text) .. '" does not contain "' .. part .. '"', 2)
  end
end

return t
