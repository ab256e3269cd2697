-- sort: Lua 5.4's table.sort, written in Lua.
--
-- Why: the native sort calls the comparator from C, where it cannot yield and where nothing
-- can interrupt a comparator that loops; here comparisons run as Lua code, preemptible by the
-- instruction hook. It also cannot go quadratic: the native quicksort does on adversarial
-- input (an adaptive comparator makes 4000 elements cost 4 million comparisons), and its
-- defence, a pivot randomized from the clock, makes the order of equal elements vary between
-- runs (a replayed workflow could see another order); this one is deterministic.
--
-- Loaded as a chunk called with one argument, an options table:
--   options.error(message, level) raises an error; level as for Lua's error(), counted from the
--                                 function that calls options.error (default: error)
-- and returning the module table M with M.sort(t, comp).
--
-- M.sort(t, comp) has table.sort's contract: sorts t[1] .. t[#t] in place, with comp(a, b)
-- (true when a must come before b) or the `<` operator; t is read and written with t[i] and
-- measured with #t, so __index, __newindex and __len apply (a non-table value is accepted when
-- its metatable has all three, as in C). The sort is not stable. Errors: the native messages
-- ("bad argument #1 to 'sort' (table expected, got nil)", "array too big", "object length is
-- not an integer", "bad argument #2 to 'sort' (function expected, got number)", and "invalid
-- order function for sorting" where the native sort would detect an inconsistent comparator).
--
-- Algorithm: introsort. The quicksort of ltablib.c (median of three, the same comparisons in
-- the same order, so the same result and the same errors as the native sort whenever that
-- does not randomize), with its recursion on the smaller part (depth <= log2 n) and a budget
-- of 2 * log2(n) partitions along any path: past it, the range is heapsorted, so the worst
-- case is O(n log n) comparisons with O(log n) stack, and no scratch memory (a merge sort
-- would need n slots of scratch and a comparator's errors would not be the native ones).

local options = ...
if type(options) ~= "table" then
  error("sort.lua: expected an options table { error = function }", 2)
end
local raise = options.error or error
if type(raise) ~= "function" then
  error("sort.lua: options.error must be a function", 2)
end

local type, getmetatable, rawget, tonumber, pcall, error = type, getmetatable, rawget, tonumber,
  pcall, error
local tointeger, math_type = math.tointeger, math.type
local format, sub, find = string.format, string.sub, string.find

local INT_MAX <const> = 2147483647 -- ltablib.c sorts at most INT_MAX - 1 elements
local INVALID_ORDER <const> = "invalid order function for sorting"

-- What Lua puts before the message of an error raised by this chunk's own code ("<chunk>:"):
-- a failed `<` or t[i] in here gets this chunk's position, which the native sort (running in
-- C) does not add; M.sort takes it off.
local OWN_PREFIX
do
  local _, probe = pcall(function() return {} < {} end)
  OWN_PREFIX = sub(probe, 1, find(probe, ":%d+: attempt") or 0)
end

-- Heapsort of t[lo .. up] (the fallback for ranges quicksort keeps splitting badly). It moves
-- elements by swaps only, so t holds all its elements whenever the comparator raises.
local function heapsort(t, lo, up, comp)
  local base = lo - 1
  -- sift the element at heap position root (1-based in the range) down a heap of `size`
  local function sift(root, size)
    local value = t[base + root]
    while true do
      local child = root * 2
      if child > size then return end
      local child_value = t[base + child]
      if child < size then
        local right = t[base + child + 1]
        local right_first
        if comp then
          right_first = comp(child_value, right)
        else
          right_first = child_value < right
        end
        if right_first then
          child = child + 1
          child_value = right
        end
      end
      local below
      if comp then below = comp(value, child_value) else below = value < child_value end
      if not below then return end
      t[base + root] = child_value
      t[base + child] = value
      root = child
    end
  end
  local n = up - lo + 1
  for root = n // 2, 1, -1 do sift(root, n) end
  for size = n, 2, -1 do
    local top = t[lo]
    t[lo] = t[base + size]
    t[base + size] = top
    sift(1, size - 1)
  end
end

-- ltablib.c's auxsort on t[lo .. up], with `budget` partitions left before heapsort. Returns
-- true when the comparator is found inconsistent (M.sort raises then, at its caller's level).
local function auxsort(t, lo, up, comp, budget)
  while lo < up do
    if budget == 0 then
      heapsort(t, lo, up, comp)
      return false
    end
    budget = budget - 1
    -- sort t[lo], t[(lo + up) // 2] and t[up]
    local a, b = t[lo], t[up]
    local swap
    if comp then swap = comp(b, a) else swap = b < a end
    if swap then
      t[lo] = b
      t[up] = a
    end
    if up - lo == 1 then return false end
    local p = (lo + up) // 2
    a, b = t[p], t[lo]
    if comp then swap = comp(a, b) else swap = a < b end
    if swap then
      t[p] = b
      t[lo] = a
    else
      b = t[up]
      if comp then swap = comp(b, a) else swap = b < a end
      if swap then
        t[p] = b
        t[up] = a
      end
    end
    if up - lo == 2 then return false end
    -- the pivot goes to up - 1; partition lo + 1 .. up - 2 around it
    local pivot = t[p]
    t[p] = t[up - 1]
    t[up - 1] = pivot
    local i, j = lo, up - 1
    while true do
      i = i + 1
      a = t[i]
      while true do -- while t[i] < pivot
        if comp then swap = comp(a, pivot) else swap = a < pivot end
        if not swap then break end
        if i == up - 1 then return true end
        i = i + 1
        a = t[i]
      end
      j = j - 1
      b = t[j]
      while true do -- while pivot < t[j]
        if comp then swap = comp(pivot, b) else swap = pivot < b end
        if not swap then break end
        if j < i then return true end
        j = j - 1
        b = t[j]
      end
      if j < i then break end
      t[i] = b
      t[j] = a
    end
    t[up - 1] = a
    t[i] = pivot
    -- recurse into the smaller part, loop on the larger
    if i - lo < up - i then
      if auxsort(t, lo, i - 1, comp, budget) then return true end
      lo = i + 1
    else
      if auxsort(t, i + 1, up, comp, budget) then return true end
      up = i - 1
    end
  end
  return false
end

local function type_name(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return name end
  return type(v)
end

local M = {}

function M.sort(t, comp)
  if type(t) ~= "table" then
    local mt = getmetatable(t)
    if type(mt) ~= "table" or rawget(mt, "__index") == nil or rawget(mt, "__newindex") == nil
      or rawget(mt, "__len") == nil then
      raise(format("bad argument #1 to 'sort' (table expected, got %s)", type_name(t)), 2)
    end
  end
  local n = #t
  if type(n) == "string" then n = tonumber(n) end
  n = math_type(n) == "float" and tointeger(n) or n
  if math_type(n) ~= "integer" then raise("object length is not an integer", 2) end
  if n > 1 then
    if n >= INT_MAX then raise("bad argument #1 to 'sort' (array too big)", 2) end
    if comp ~= nil and type(comp) ~= "function" then
      raise(format("bad argument #2 to 'sort' (function expected, got %s)", type_name(comp)), 2)
    end
    local budget = 0
    while n >> budget > 1 do budget = budget + 1 end
    local ok, result = pcall(auxsort, t, 1, n, comp or false, 2 * budget)
    if not ok then
      local own = type(result) == "string" and OWN_PREFIX ~= ""
        and sub(result, 1, #OWN_PREFIX) == OWN_PREFIX
      if own then
        local _, e = find(result, "^%d+: ", #OWN_PREFIX + 1)
        if e then raise(sub(result, e + 1), 0) end
      end
      error(result, 0) -- the comparator's or a metamethod's own error, unchanged
    end
    if result then raise(INVALID_ORDER, 2) end
  end
end

return M
