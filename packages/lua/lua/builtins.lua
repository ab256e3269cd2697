-- builtins: the standard-library functions user code gets in place of the native ones whose
-- cost can grow without running Lua instructions (so without the scheduler ever getting a
-- chance to preempt them), or that call user code from C (where it cannot be preempted).
-- Each keeps the native contract and does its work where the instruction hook reaches it:
-- bounded native calls, Lua loops, or the pure-Lua pattern matcher and sort.
--
-- A library: its chunk name makes it preemptible wherever user code calls it.
--
-- Loaded as a chunk that returns a constructor taking:
--   deps.TERMINATED  the sentinel that ends a process (never caught here)
--   deps.patterns    the pure-Lua matcher (patterns.lua): find, match, gmatch, gsub
--   deps.sort        the pure-Lua sort (sort.lua)
--   deps.max_string  the longest string string.rep may build, in bytes
--   deps.max_chunk   the longest chunk load may compile, in bytes
--   deps.create_table(nseq, nrec) a new table with room for that many elements (optional:
--                    without it table.create makes a plain {})
--   deps.text_of(value) the text of a value that stands for a string (an error object), or
--                    nil (optional): string.find(err, "not found") searches the error's text
-- and returning { string = {...}, table = {...}, tostring, new_generator, pcall, xpcall,
-- read_chunk, chunk_name }.

-- What user code raises is compared with TERMINATED raw: `==` would run a `__eq` it planted.
local rawequal = rawequal
local type, error, tostring, tonumber, pcall, xpcall, select, rawget =
  type, error, tostring, tonumber, pcall, xpcall, select, rawget
local format = string.format
local math_type, tointeger, maxinteger = math.type, math.tointeger, math.maxinteger
local native_rep, native_find, native_match, native_gmatch, native_gsub =
  string.rep, string.find, string.match, string.gmatch, string.gsub
local byte, sub, char = string.byte, string.sub, string.char
local native_sort, native_move, native_insert, native_remove, concat =
  table.sort, table.move, table.insert, table.remove, table.concat
local raw_getmetatable = debug.getmetatable

return function(deps)
  local TERMINATED, patterns, lua_sort = deps.TERMINATED, deps.patterns, deps.sort
  local MAX_STRING, MAX_CHUNK = deps.max_string, deps.max_chunk
  local text_of = deps.text_of or function() return nil end

  -- Arguments checked the way the native functions check them, with their messages.
  local function check_integer(value, position, name)
    local n = tointeger(value)
    if n == nil then
      if type(value) == 'number' then
        error("bad argument #" .. position .. " to '" .. name .. "' (number has no integer representation)", 3)
      end
      local s = type(value) == 'string' and tointeger(tonumber(value))
      if s then return s end
      error("bad argument #" .. position .. " to '" .. name .. "' (number expected, got " ..
        (value == nil and 'no value' or type(value)) .. ")", 3)
    end
    return n
  end

  local function check_string(value, position, name)
    local t = type(value)
    if t == 'string' then return value end
    if t == 'number' then return tostring(value) end
    error("bad argument #" .. position .. " to '" .. name .. "' (string expected, got " ..
      (value == nil and 'no value' or t) .. ")", 3)
  end

  -- string.rep ------------------------------------------------------------------------------

  -- Native rep copies its piece once per repetition: string.rep("", math.maxinteger) never
  -- ends, and a byte repeated 60 million times takes 60 million calls of memcpy. Here a piece
  -- is first repeated into a chunk of about CHUNK bytes, and the chunk is repeated: each copy
  -- moves a chunk, and the result takes about twice its size while it is built, as natively.
  local CHUNK = 1 << 16

  local function rep(s, n, sep)
    -- The common case: a short result, with few repetitions.
    if sep == nil and type(s) == 'string' and math_type(n) == 'integer' and n <= CHUNK
      and #s * n <= CHUNK then
      return native_rep(s, n)
    end
    s = check_string(s, 1, 'rep')
    n = check_integer(n, 2, 'rep')
    if sep ~= nil then sep = check_string(sep, 3, 'rep') end
    if n <= 0 then return '' end
    local step = #s + (sep and #sep or 0)
    local size = step * (n + 0.0) - (sep and #sep or 0)
    if size <= 0 then return '' end
    if size > MAX_STRING then
      error('string.rep: a result of ' .. format('%.0f', size) ..
        ' bytes is over the limit of ' .. MAX_STRING .. ' bytes', 2)
    end
    local per_chunk = CHUNK // step + 1
    if n <= per_chunk then return native_rep(s, n, sep) end
    local chunks, rest = n // per_chunk, n % per_chunk
    if sep == nil or sep == '' then
      local body = native_rep(native_rep(s, per_chunk), chunks)
      return rest == 0 and body or body .. native_rep(s, rest)
    end
    -- Each chunk ends with a separator; the last piece of the result must not.
    local chunk = native_rep(s, per_chunk, sep) .. sep
    if rest == 0 then return native_rep(chunk, chunks - 1) .. native_rep(s, per_chunk, sep) end
    return native_rep(chunk, chunks) .. native_rep(s, rest, sep)
  end

  -- Patterns --------------------------------------------------------------------------------

  -- The C matcher backtracks: its worst case over a subject of n bytes grows like n to the
  -- power of the number of variable-length items followed by an item that can match what
  -- they match (the matcher tries the rest at each length of them), doubles with each such
  -- optional one (`?`), and grows with the longest set, which it scans at each byte it matches
  -- (times n start positions when the pattern is not anchored). `%d+-` or `[^,]*,` costs the
  -- length of the run, once. Up to this many steps it runs natively (a few milliseconds at
  -- worst); above, the pure-Lua matcher does the work as instructions the scheduler can
  -- preempt, with a step budget of its own. (The engine also counts the native matcher's
  -- steps, and stops a process that spends max_slice in one call.)
  local NATIVE_STEPS = 4e6
  -- Pattern shapes by pattern text: {degree, anchored, items, optional, widest set}. Strings
  -- are never collected out of a weak table, so the cache is emptied when it holds MAX_SHAPES
  -- of them.
  local SHAPES, shapes, MAX_SHAPES = {}, 0, 1024
  -- Longer patterns are not analysed item by item: every variable item counts.
  local MAX_ANALYSED = 256

  local function skip_class(p, i)
    -- i at '[': returns the index after the matching ']'
    local n = #p
    i = i + 1
    if byte(p, i) == 94 then i = i + 1 end -- '^'
    repeat
      if i > n then return n + 1 end
      local c = byte(p, i)
      i = i + 1
      if c == 37 then i = i + 1 end -- '%x' escapes
    until byte(p, i) == 93 -- ']'
    return i + 1
  end

  -- Whether some byte matches both single-character items (pattern texts: "%d", "[^,]", ".",
  -- "%-"), asked of the native matcher byte by byte, once a pair (a malformed item: yes).
  local OVERLAPS, overlaps_known = {}, 0
  local function overlap(a, b)
    local key = a .. '\0' .. b
    local known = OVERLAPS[key]
    if known ~= nil then return known end
    local ok, found = pcall(function()
      for c = 0, 255 do
        local one = char(c)
        if native_find(one, '^' .. a) and native_find(one, '^' .. b) then return true end
      end
      return false
    end)
    found = not ok or found
    if overlaps_known >= MAX_SHAPES then OVERLAPS, overlaps_known = {}, 0 end
    OVERLAPS[key], overlaps_known = found, overlaps_known + 1
    return found
  end

  local function shape(p)
    local known = SHAPES[p]
    if known then return known end
    local n, i, degree, items, optional, widest = #p, 1, 0, 0, 0, 1
    local anchored = byte(p, 1) == 94
    if anchored then i = 2 end
    -- The items in order, as pattern texts (false: one that may match anything, of any
    -- length), and the quantifier of each: 1 variable, 2 optional.
    local list, quantity = {}, {}
    while i <= n do
      local c = byte(p, i)
      local after
      if c == 40 or c == 41 then -- captures cost nothing by themselves
        i = i + 1
      elseif c == 37 then -- '%'
        local d = byte(p, i + 1)
        if d == 98 then -- %bxy scans the subject
          degree, i = degree + 1, i + 4
          list[#list + 1] = false
        elseif d == 102 then -- %f[set], scanned at each byte it is tried at
          local e = skip_class(p, i + 2)
          if e - i > widest then widest = e - i end
          i = e
        elseif d and d >= 49 and d <= 57 then -- back reference
          degree, i = degree + 1, i + 2
          list[#list + 1] = false
        else
          after = i + 2
        end
      elseif c == 91 then
        after = skip_class(p, i)
        if after - i > widest then widest = after - i end
      elseif c == 36 and i == n then -- '$' anchors the end
        i = i + 1
      else
        after = i + 1
      end
      if after then
        items = items + 1
        local text = sub(p, i, after - 1)
        -- A literal character other than a letter or digit, escaped: '$', '-' and the like.
        if after == i + 1 and c ~= 46 and not native_find(text, '^%w') then text = '%' .. text end
        list[#list + 1] = text
        local q = byte(p, after)
        if q == 42 or q == 43 or q == 45 then -- * + -
          quantity[#list], i = 1, after + 1
        elseif q == 63 then -- ?
          quantity[#list], i = 2, after + 1
        else
          i = after
        end
      end
    end
    for k = 1, #list do
      local q, next_item = quantity[k], list[k + 1]
      if q and next_item ~= nil
        and (not next_item or n > MAX_ANALYSED or overlap(list[k], next_item)) then
        if q == 1 then degree = degree + 1 else optional = optional + 1 end
      end
    end
    known = { degree, anchored, items, optional, widest }
    if shapes >= MAX_SHAPES then SHAPES, shapes = {}, 0 end
    SHAPES[p], shapes = known, shapes + 1
    return known
  end

  -- Short subjects searched with short patterns (the common case) go straight to the native
  -- functions: no such pair can cost much (at most two items that backtrack). A short
  -- subject is no bound by itself: ('.-'):rep(6) .. 'b' over 63 bytes takes seconds.
  local SHORT, SHORT_PATTERN = 64, 6

  --- Whether the native matcher is bounded enough for `p` over `length` bytes of subject.
  local function native_fits(p, length, plain)
    if plain then return length * #p <= NATIVE_STEPS end
    local s = shape(p)
    local steps = (s[2] and 1 or length) * (s[3] + 1) * (length + 0.0) ^ s[1] * 2.0 ^ s[4] * s[5]
    return steps <= NATIVE_STEPS
  end

  local function subject_length(s, init)
    local n = #s
    if init == nil then return n end
    init = tointeger(init)
    if init == nil then return n end
    if init < 0 then return -init end
    return n - init + 1
  end

  -- The short patterns seen (strings of at most SHORT_PATTERN bytes), as keys: a call with one
  -- of them on a short string goes native after one lookup and one type check, written out in
  -- each function below (each check, and each call, is a call out of the interpreter's loop:
  -- with three type checks and two calls, string.find on a short string took 3.6× its native
  -- time; now 2.1×). Emptied when it holds MAX_SHAPES of them, as SHAPES is.
  local SHORT_PATTERNS, short_patterns = {}, 0

  --- Pattern `p` (a string) is looked at: a short one is remembered (see SHORT_PATTERNS).
  local function seen(p)
    if #p > SHORT_PATTERN or patterns == nil then return end
    if short_patterns >= MAX_SHAPES then SHORT_PATTERNS, short_patterns = {}, 0 end
    SHORT_PATTERNS[p], short_patterns = true, short_patterns + 1
  end

  --- Whether `string.<fn>(s, p, init, …)` may run natively (values that are not strings: the
  --- native functions say what is wrong with them).
  local function native_ok(s, p, init, plain)
    if type(s) ~= 'string' or type(p) ~= 'string' or patterns == nil then return true end
    seen(p)
    local length = subject_length(s, init)
    if length < SHORT and #p <= SHORT_PATTERN then return true end
    return native_fits(p, length, plain)
  end

  local function find(s, p, init, plain)
    if SHORT_PATTERNS[p] ~= nil and type(s) == 'string' and #s < SHORT then
      return native_find(s, p, init, plain)
    end
    if type(s) == 'userdata' then s = text_of(s) or s end
    if native_ok(s, p, init, plain) then
      return native_find(s, p, init, plain)
    end
    return patterns.find(s, p, init, plain)
  end

  local function match(s, p, init)
    if SHORT_PATTERNS[p] ~= nil and type(s) == 'string' and #s < SHORT then
      return native_match(s, p, init)
    end
    if type(s) == 'userdata' then s = text_of(s) or s end
    if native_ok(s, p, init, false) then
      return native_match(s, p, init)
    end
    return patterns.match(s, p, init)
  end

  local function gmatch(s, p, init)
    if SHORT_PATTERNS[p] ~= nil and type(s) == 'string' and #s < SHORT then
      return native_gmatch(s, p, init)
    end
    if type(s) == 'userdata' then s = text_of(s) or s end
    if native_ok(s, p, init, false) then
      return native_gmatch(s, p, init)
    end
    return patterns.gmatch(s, p, init)
  end

  -- Replacement functions and tables are user code: called from the native gsub they could
  -- not be preempted, so beyond a few of them the Lua gsub calls them.
  local NATIVE_CALLBACK_SUBJECT = 4096

  local function gsub(s, p, repl, n)
    if SHORT_PATTERNS[p] ~= nil and type(s) == 'string' and #s < SHORT then
      return native_gsub(s, p, repl, n)
    end
    if type(s) == 'userdata' then s = text_of(s) or s end
    if type(s) ~= 'string' or type(p) ~= 'string' or patterns == nil then
      return native_gsub(s, p, repl, n)
    end
    seen(p)
    if #s < SHORT and #p <= SHORT_PATTERN then return native_gsub(s, p, repl, n) end
    local tr = type(repl)
    if (tr == 'string' or tr == 'number' or #s <= NATIVE_CALLBACK_SUBJECT)
      and native_fits(p, #s, false) then
      return native_gsub(s, p, repl, n)
    end
    return patterns.gsub(s, p, repl, n)
  end

  -- Tables ------------------------------------------------------------------------------------

  -- Natively, table functions read and write through lua_geti/lua_seti: metamethods run from C
  -- (not preemptible) and a range with nothing in it costs no instructions at all
  -- (table.move({}, 1, math.maxinteger - 1, 2) never ends). Plain tables and bounded ranges
  -- stay native; the rest runs as Lua loops.
  local NATIVE_RANGE = 1 << 16
  -- No table can hold more elements than this in any host's memory.
  local MAX_RANGE = 1 << 28

  local function plain(t)
    return raw_getmetatable(t) == nil
  end

  local function move(a1, f, e, t, a2)
    f, e, t = check_integer(f, 2, 'move'), check_integer(e, 3, 'move'), check_integer(t, 4, 'move')
    if a2 == nil then a2 = a1 end
    if e < f then return native_move(a1, f, e, t, a2) end
    if not (f > 0 or e < maxinteger + f) then error("bad argument #3 to 'move' (too many elements to move)", 2) end
    local count = e - f
    if not (t <= maxinteger - count) then error("bad argument #4 to 'move' (destination wrap around)", 2) end
    if count < NATIVE_RANGE and type(a1) == 'table' and type(a2) == 'table' and plain(a1) and plain(a2) then
      return native_move(a1, f, e, t, a2)
    end
    if count >= MAX_RANGE then
      error('table.move: ' .. (count + 1) .. ' elements are more than any table can hold (limit ' ..
        MAX_RANGE .. ')', 2)
    end
    if t > e or t <= f or a1 ~= a2 then
      for i = 0, count do a2[t + i] = a1[f + i] end
    else
      for i = count, 0, -1 do a2[t + i] = a1[f + i] end
    end
    return a2
  end

  local function insert(t, ...)
    if type(t) ~= 'table' or plain(t) then return native_insert(t, ...) end
    local argc = select('#', ...)
    local e = #t + 1
    if argc == 1 then
      t[e] = ...
      return
    elseif argc ~= 2 then
      error("wrong number of arguments to 'insert'", 2)
    end
    local pos, value = ...
    pos = check_integer(pos, 2, 'insert')
    if not (pos >= 1 and pos <= e) then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
    if e - pos >= MAX_RANGE then error('table.insert: a length of ' .. e .. ' is more than any table can hold', 2) end
    for i = e, pos + 1, -1 do t[i] = t[i - 1] end
    t[pos] = value
  end

  local function remove(t, pos)
    if type(t) ~= 'table' or plain(t) then return native_remove(t, pos) end
    local size = #t
    if pos == nil then pos = size else pos = check_integer(pos, 2, 'remove') end
    if pos ~= size and not (pos >= 1 and pos <= size + 1) then
      error("bad argument #2 to 'remove' (position out of bounds)", 2)
    end
    if size - pos >= MAX_RANGE then error('table.remove: a length of ' .. size .. ' is more than any table can hold', 2) end
    local value = t[pos]
    for i = pos, size - 1 do t[i] = t[i + 1] end
    if pos <= size then t[size] = nil end
    return value
  end

  -- table.create(nseq, nrec?) as in Lua 5.5: a new empty table with room for nseq sequence
  -- elements and nrec other fields. Room past MAX_PREALLOCATED is not made up front (the
  -- table grows as usual), so a large size cannot take memory the process never uses.
  local INT_MAX = 0x7FFFFFFF
  local MAX_PREALLOCATED = 1 << 16
  local create_table = deps.create_table or function() return {} end

  local function create(nseq, nrec)
    nseq = check_integer(nseq, 1, 'create')
    nrec = nrec == nil and 0 or check_integer(nrec, 2, 'create')
    if nseq < 0 or nseq > INT_MAX then error("bad argument #1 to 'create' (out of range)", 2) end
    if nrec < 0 or nrec > INT_MAX then error("bad argument #2 to 'create' (out of range)", 2) end
    local seq = nseq < MAX_PREALLOCATED and nseq or MAX_PREALLOCATED
    return create_table(seq, nrec < MAX_PREALLOCATED and nrec or MAX_PREALLOCATED)
  end

  -- Without a comparator, small arrays of plain tables sort natively (metamethods of their
  -- elements, if any, run from C and are stopped by max_slice when they loop); anything else
  -- sorts in Lua, where a comparator can be preempted.
  local NATIVE_SORT = 1 << 14

  local function sort(t, comp)
    if lua_sort == nil or type(t) ~= 'table'
      or (comp == nil and plain(t) and #t <= NATIVE_SORT) then
      return native_sort(t, comp)
    end
    return lua_sort(t, comp)
  end

  -- math.random of one process -----------------------------------------------------------------

  --- A generator of random numbers of one's own, seeded with `seed` (xoshiro256**, the
  --- algorithm of Lua 5.4's own, its state filled by splitmix64): math.random's contract.
  local function new_generator(seed)
    local s = {}
    local x = math_type(seed) == 'integer' and seed or tointeger(seed // 1) or 0
    for i = 1, 4 do
      x = x + 0x9e3779b97f4a7c15
      local z = x
      z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
      z = (z ~ (z >> 27)) * 0x94d049bb133111eb
      s[i] = z ~ (z >> 31)
    end
    local function rotl(v, n) return (v << n) | (v >> (64 - n)) end
    local function next64()
      local s1 = s[2]
      local result = rotl(s1 * 5, 7) * 9
      local t = s1 << 17
      s[3] = s[3] ~ s[1]
      s[4] = s[4] ~ s1
      s[2] = s1 ~ s[3]
      s[1] = s[1] ~ s[4]
      s[3] = s[3] ~ t
      s[4] = rotl(s[4], 45)
      return result
    end
    return function(m, n)
      local unit = (next64() >> 11) * 0x1p-53
      if m == nil then return unit end
      m = check_integer(m, 1, 'random')
      local position = 2
      if n == nil then m, n, position = 1, m, 1 else n = check_integer(n, 2, 'random') end
      if m > n then
        error("bad argument #" .. position .. " to 'random' (interval is empty)", 2)
      end
      return m + math.floor(unit * (n - m + 1.0))
    end
  end

  -- tostring ------------------------------------------------------------------------------------

  --- tostring calling __tostring from Lua: natively it runs from C, where a looping one could
  --- not be preempted (only stopped after max_slice).
  local native_tostring = tostring
  local function to_string(v)
    local mt = raw_getmetatable(v)
    local f = mt ~= nil and rawget(mt, '__tostring') or nil
    if f == nil then return native_tostring(v) end
    local s = f(v)
    if type(s) ~= 'string' then error("'__tostring' must return a string", 2) end
    return s
  end

  --- string.format with the __tostring of its arguments called from Lua (natively `%s` calls
  --- it from C, where a looping one cannot be preempted).
  local native_format = string.format
  local function format_values(fmt, ...)
    local n = select('#', ...)
    for i = 1, n do
      local v = select(i, ...)
      if type(v) == 'table' then
        local mt = raw_getmetatable(v)
        if mt ~= nil and rawget(mt, '__tostring') ~= nil then
          local args = { ... }
          for j = i, n do
            local w = args[j]
            if type(w) == 'table' then
              local wmt = raw_getmetatable(w)
              if wmt ~= nil and rawget(wmt, '__tostring') ~= nil then args[j] = to_string(w) end
            end
          end
          return native_format(fmt, table.unpack(args, 1, n))
        end
      end
    end
    return native_format(fmt, ...)
  end

  -- pcall and xpcall ----------------------------------------------------------------------------

  -- A termination unwinds through user pcalls instead of being caught by them.
  local function guard(ok, ...)
    if not ok and rawequal((...), TERMINATED) then error(TERMINATED, 0) end
    return ok, ...
  end

  local function protected_call(f, ...)
    return guard(pcall(f, ...))
  end

  local function protected_xcall(f, handler, ...)
    return guard(xpcall(f, function(e)
      if rawequal(e, TERMINATED) then return e end
      return handler(e)
    end, ...))
  end

  -- load --------------------------------------------------------------------------------------

  --- The text a load reader function gives, read here so that the reader (user code) runs
  --- where it can be preempted; an error in it is load's error, as natively.
  local function read_chunk(reader)
    local parts, size = {}, 0
    while true do
      local ok, piece = pcall(reader)
      if not ok then
        if rawequal(piece, TERMINATED) then error(TERMINATED, 0) end
        return nil, piece
      end
      if piece == nil or piece == '' then break end
      if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
      size = size + #piece
      if size > MAX_CHUNK then
        return nil, 'load: a chunk of more than ' .. MAX_CHUNK .. ' bytes is over the limit'
      end
      parts[#parts + 1] = piece
    end
    return concat(parts)
  end

  --- The name a chunk of user code is compiled under. "=luact:" names luact's own code, which
  --- is never preempted: a user chunk must not pass for it.
  local function chunk_name(name, text)
    if name == nil then name = type(text) == 'string' and text or '=(load)' end
    if type(name) == 'string' and sub(name, 1, 6) == '=luact' then name = '=' .. name end
    return name
  end

  return {
    string = {
      rep = rep, find = find, match = match, gmatch = gmatch, gsub = gsub, format = format_values,
    },
    table = { move = move, insert = insert, remove = remove, sort = sort, create = create },
    tostring = to_string,
    new_generator = new_generator,
    pcall = protected_call,
    xpcall = protected_xcall,
    read_chunk = read_chunk,
    chunk_name = chunk_name,
  }
end
