-- pairs inside workflows: keys in a fixed order (type, then value), so iterating a table
-- issues commands in the same order on every replay. Plain Lua's order of string keys
-- changes from run to run.
local _, rt = ...

local real_pairs, type, tostring, sort = pairs, type, tostring, table.sort

local TYPE_RANK = { boolean = 1, number = 2, string = 3 }

local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (TYPE_RANK[ta] or 4) < (TYPE_RANK[tb] or 4) end
  if ta == 'number' or ta == 'string' then return a < b end
  if ta == 'boolean' then return not a and b end
  -- Tables and functions as keys have no stable order across runs; keep them consistent here.
  return tostring(a) < tostring(b)
end

return function(t)
  local keys, n = {}, 0
  for k in real_pairs(t) do
    n = n + 1
    keys[n] = k
  end
  sort(keys, before)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end, t, nil
end
