-- patterns: Lua 5.4's string.find, string.match, string.gmatch and string.gsub, written in Lua.
--
-- Why: the native functions match inside C, where nothing can interrupt them, so a catastrophic
-- pattern (`string.find(("a"):rep(30000), ("a-"):rep(6) .. "b")`) freezes the whole engine, and a
-- gsub replacement function or table runs from C, where it cannot yield. Here matching is Lua
-- instructions (preemptible by the instruction hook, bounded by a step budget) and replacement
-- callbacks are called from Lua.
--
-- Loaded as a chunk called with one argument, an options table:
--   options.max_steps             step budget of one call (default 100000000): each elementary
--                                 match attempt costs one step (an item tried at a position, a
--                                 subject byte scanned by a repetition, %b or a back reference)
--   options.error(message, level) raises an error; level as for Lua's error(), counted from the
--                                 function that calls options.error (default: error)
--   options.share(table)          marks a table every thread of the state fills (the engines
--                                 by thread) as the state's (default: none)
-- and returning the module table M with M.find(s, pattern, init, plain), M.match(s, pattern, init),
-- M.gmatch(s, pattern, init) and M.gsub(s, pattern, repl, n).
--
-- Semantics are Lua 5.4's (lstrlib.c), including its quirks: errors of a malformed pattern are
-- raised only when matching reaches the faulty item, captures and back references as in C,
-- the "pattern too complex" nesting limit (200), the empty-match rule of gmatch and gsub (a match
-- may not end where the previous one ended), numbers accepted for strings, and the native error
-- messages (without the native "bad argument" numbering of method calls: `s:find(1)` reports
-- argument #2). Character classes are those of the "C" locale (ASCII).
-- A call that spends more than max_steps raises
--   "string.find: pattern too costly for a subject of 30000 bytes (more than 100000000 steps)".
-- Plain search (`plain` or a pattern without specials) is O(#s + #pattern): KMP, jumping between
-- candidates with the native search for a prefix of at most 16 bytes (whose cost is at most 16
-- comparisons per subject byte).
--
-- Matching state lives in an engine (a set of closures over its state) per Lua thread, so a
-- preempted match never shares state with a match in another thread; an engine reloads its
-- state after each user callback, so a callback may itself use the functions of this module,
-- and a hook or finalizer that runs in the middle of a match on the same thread gets an engine
-- of its own. Compiled patterns are cached (bounded) and shared by all threads.

local options = ...
if type(options) ~= "table" then
  error("patterns.lua: expected an options table { max_steps = integer, error = function }", 2)
end
local raise = options.error or error
local max_steps = options.max_steps or 100000000
if type(raise) ~= "function" then
  error("patterns.lua: options.error must be a function", 2)
end
if math.type(max_steps) ~= "integer" or max_steps < 1 then
  error("patterns.lua: options.max_steps must be a positive integer", 2)
end

local byte, char, sub, format = string.byte, string.char, string.sub, string.format
-- The native search, used only where its cost is linear in the bytes it scans: plain search
-- for at most 16 bytes, and patterns of a single class of at most 32 bytes ("<class>" to find
-- where a match may start, "^<class>*" for the end of a run, "[()]" for %b()).
local native_find = string.find
local concat, unpack = table.concat, table.unpack
local tointeger, math_type = math.tointeger, math.type
local type, tonumber, getmetatable, setmetatable = type, tonumber, getmetatable, setmetatable
-- A raised value is compared with FAILED raw: `==` would run a `__eq` it planted.
local rawequal = rawequal
local rawget, rawset = rawget, rawset
local running = coroutine.running

local MAXCCALLS <const> = 200 -- nesting limit of the matcher ("pattern too complex"), as lstrlib.c
local MAXCAPTURES <const> = 32
local CAP_UNFINISHED <const>, CAP_POSITION <const> = -1, -2
local NATIVE_NEEDLE <const> = 16 -- longest needle given to the native plain search
local NATIVE_CLASS <const> = 32 -- longest class source given to the native matcher
local QUICK_RUN <const> = 16 -- bytes a repetition scans in Lua before asking the native matcher
local WINDOW <const> = 16 -- subject bytes read at a time (see B in new_engine)
local MAX_LOADED <const> = 262144 -- subject bytes held in a byte table at most
local CACHE_WEIGHT <const> = 65536 -- compiled patterns kept, in items plus 64 per bracket set
local FAILED <const> = 0 -- what the matcher returns on an error (a "match" that ends nowhere)

-- ── Character classes ─────────────────────────────────────────────────────────────────────

-- Membership tables index a byte (0..255) to true. Classes of the "C" locale, as ctype.h.
local function byte_set(test)
  local set = {}
  for c = 0, 255 do
    if test(c) then set[c] = true end
  end
  return set
end

local function is_upper(c) return c >= 65 and c <= 90 end
local function is_lower(c) return c >= 97 and c <= 122 end
local function is_digit(c) return c >= 48 and c <= 57 end
local function is_alpha(c) return is_upper(c) or is_lower(c) end
local function is_alnum(c) return is_alpha(c) or is_digit(c) end
local function is_graph(c) return c >= 33 and c <= 126 end

local CLASS_TESTS = {
  a = is_alpha,
  c = function(c) return c < 32 or c == 127 end,
  d = is_digit,
  g = is_graph,
  l = is_lower,
  p = function(c) return is_graph(c) and not is_alnum(c) end,
  s = function(c) return c == 32 or (c >= 9 and c <= 13) end,
  u = is_upper,
  w = is_alnum,
  x = function(c) return is_digit(c) or (c >= 97 and c <= 102) or (c >= 65 and c <= 70) end,
  z = function(c) return c == 0 end, -- deprecated, still supported
}

-- CLASSES[letter byte] = membership table of %letter (upper case: the complement)
local CLASSES = {}
for letter, test in pairs(CLASS_TESTS) do
  CLASSES[byte(letter)] = byte_set(test)
  CLASSES[byte(letter:upper())] = byte_set(function(c) return not test(c) end)
end
local ANY = byte_set(function() return true end)
local LITERALS = {} -- LITERALS[c] = { [c] = true }, made on first use
local function literal_set(c)
  local set = LITERALS[c]
  if not set then
    set = { [c] = true }
    LITERALS[c] = set
  end
  return set
end

-- `c` as a pattern item that matches exactly c ("%" before anything but letters and digits)
local function escaped(c)
  if is_alnum(c) then return char(c) end
  return "%" .. char(c)
end

-- ── Compiling a pattern ───────────────────────────────────────────────────────────────────
--
-- The matcher of lstrlib.c walks the pattern text; every position it can reach is the start of
-- an item, and which item follows which depends only on the text. So a pattern compiles to a
-- list of items (kind[k], arg[k], arg2[k]), item k + 1 following item k, ending with END. An
-- item the C matcher would reject when it reaches it (a malformed class, `%b` without
-- arguments, `%f` without a set) compiles to an ERROR item, so the error is raised exactly
-- when, and only if, matching reaches it.

-- Kinds of items, in the order the matcher tests them (ranges: <= ONE, <= OPT, <= DOLLAR).
local LIT <const>, ONE <const>, STAR <const>, PLUS <const>, MINUS <const>, OPT <const> =
  1, 2, 3, 4, 5, 6
local OPEN <const>, POSITION <const>, CLOSE <const>, END <const>, DOLLAR <const> = 7, 8, 9, 10, 11
local BALANCE <const>, FRONTIER <const>, BACKREF <const>, ERROR <const> = 12, 13, 14, 15
-- LIT (literal bytes without a suffix): arg = the first byte, arg2 = the text. ONE (a class
-- without suffix), STAR, PLUS, MINUS, OPT: arg = the membership table; arg2 = a native pattern
-- "^<class>*" that finds the end of a run of the class (false for '.', whose runs end at the
-- subject's end; nil when the class is too long to give to the native matcher). BALANCE: arg,
-- arg2 = the two bytes, and the item's native set in balance_sets. FRONTIER: arg = the set.
-- BACKREF: arg = the capture index (0 for %0, which is invalid). ERROR: arg = the message.

local function compile(p, first)
  local plen = #p
  local kind, arg, arg2 = {}, {}, {}
  local balance_sets = {}
  local weight = 0

  -- lstrlib.c's classEnd: the position after the single-byte class at i, or nil, message
  local function class_end(i)
    local c = byte(p, i)
    i = i + 1
    if c == 37 then -- '%'
      if i > plen then return nil, "malformed pattern (ends with '%')" end
      return i + 1
    elseif c == 91 then -- '['
      if byte(p, i) == 94 then i = i + 1 end -- '^'
      repeat -- look for the ']' (the first byte of the set is never its end)
        if i > plen then return nil, "malformed pattern (missing ']')" end
        local b = byte(p, i)
        i = i + 1
        if b == 37 and i <= plen then i = i + 1 end -- skip an escaped byte (e.g. "%]")
      until byte(p, i) == 93
      return i + 1
    end
    return i
  end

  -- the membership table of the bracket set from '[' at i to ']' at close
  local function bracket_set(i, close)
    weight = weight + 64
    local members, negated = {}, false
    if byte(p, i + 1) == 94 then -- '^'
      negated = true
      i = i + 1
    end
    while true do
      i = i + 1
      if i >= close then break end
      local c = byte(p, i)
      if c == 37 then -- '%': a class or an escaped byte
        i = i + 1
        local class = CLASSES[byte(p, i)]
        if class then
          for b in pairs(class) do members[b] = true end
        else
          members[byte(p, i)] = true
        end
      elseif byte(p, i + 1) == 45 and i + 2 < close then -- a range "x-y"
        for b = c, byte(p, i + 2) do members[b] = true end
        i = i + 2
      else
        members[c] = true
      end
    end
    if not negated then return members end
    local set = {}
    for b = 0, 255 do
      if not members[b] then set[b] = true end
    end
    return set
  end

  -- the single-byte class from i to before ep: its membership table, a native pattern for its
  -- runs (see above), and its byte when it is a single byte
  local function single_class(i, ep)
    local c = byte(p, i)
    if c == 46 then return ANY, false end -- '.'
    if c == 91 then -- '['
      local source = sub(p, i, ep - 1)
      return bracket_set(i, ep - 1), #source <= NATIVE_CLASS and "^" .. source .. "*" or nil
    end
    if c == 37 then -- '%'
      local class = CLASSES[byte(p, i + 1)]
      if class then return class, "^" .. sub(p, i, ep - 1) .. "*" end
      c = byte(p, i + 1)
    end
    return literal_set(c), "^" .. escaped(c) .. "*", c
  end

  local k, i = 0, first
  while true do
    k = k + 1
    weight = weight + 1
    local c = byte(p, i)
    local next_c = byte(p, i + 1)
    if c == nil then
      kind[k] = END
      break
    elseif c == 40 then -- '('
      if next_c == 41 then
        kind[k] = POSITION
        i = i + 2
      else
        kind[k] = OPEN
        i = i + 1
      end
    elseif c == 41 then -- ')'
      kind[k] = CLOSE
      i = i + 1
    elseif c == 36 and i == plen then -- '$' ending the pattern
      kind[k] = DOLLAR
      break
    elseif c == 37 and next_c == 98 then -- "%b"
      if i + 2 >= plen then
        kind[k], arg[k] = ERROR, "malformed pattern (missing arguments to '%b')"
        break
      end
      local open, close = byte(p, i + 2), byte(p, i + 3)
      kind[k], arg[k], arg2[k] = BALANCE, open, close
      balance_sets[k] = "[" .. escaped(open) .. escaped(close) .. "]"
      i = i + 4
    elseif c == 37 and next_c == 102 then -- "%f"
      i = i + 2
      if byte(p, i) ~= 91 then
        kind[k], arg[k] = ERROR, "missing '[' after '%f' in pattern"
        break
      end
      local ep, message = class_end(i)
      if not ep then
        kind[k], arg[k] = ERROR, message
        break
      end
      kind[k], arg[k] = FRONTIER, bracket_set(i, ep - 1)
      i = ep
    elseif c == 37 and next_c and next_c >= 48 and next_c <= 57 then -- "%0" .. "%9"
      kind[k], arg[k] = BACKREF, next_c - 48
      i = i + 2
    else -- a single-byte class and its optional repetition suffix
      local ep, message = class_end(i)
      if not ep then
        kind[k], arg[k] = ERROR, message
        break
      end
      local set, run, literal = single_class(i, ep)
      local suffix = byte(p, ep)
      if suffix == 42 then -- '*'
        kind[k], arg[k], arg2[k] = STAR, set, run
        i = ep + 1
      elseif suffix == 43 then -- '+'
        kind[k], arg[k], arg2[k] = PLUS, set, run
        i = ep + 1
      elseif suffix == 45 then -- '-'
        kind[k], arg[k], arg2[k] = MINUS, set, run
        i = ep + 1
      elseif suffix == 63 then -- '?'
        kind[k], arg[k], arg2[k] = OPT, set, run
        i = ep + 1
      elseif literal then
        kind[k], arg[k], arg2[k] = LIT, literal, char(literal)
        i = ep
      else
        kind[k], arg[k], arg2[k] = ONE, set, run
        i = ep
      end
    end
  end

  -- Runs of literal bytes become one LIT item (arg: the first byte, arg2: the text): one
  -- comparison instead of one item per byte. Literal items cannot fail otherwise than by not
  -- matching, so this changes nothing but speed.
  local items = {
    kind = {},
    arg = {},
    arg2 = {},
    balance_sets = {},
    follow = {},
    follow_text = {},
    tail_set = {},
    weight = weight,
  }
  local n, j = 0, 1
  while kind[j] do
    n = n + 1
    if kind[j] == LIT then
      local from = j
      while kind[j + 1] == LIT do j = j + 1 end
      local text = {}
      for x = from, j do text[#text + 1] = arg2[x] end
      items.kind[n], items.arg[n], items.arg2[n] = LIT, arg[from], concat(text)
    else
      items.kind[n], items.arg[n], items.arg2[n] = kind[j], arg[j], arg2[j]
      items.balance_sets[n] = balance_sets[j]
    end
    j = j + 1
  end

  -- What a repetition is followed by, past capture items: follow[k] is the kind of the first
  -- item from k on that is not a capture, follow_text[k] its text when it is a literal. Once
  -- one attempt at the rest of the pattern went past those captures without an error, the
  -- others (with the same captures open) will too, and fail where the literal does not match,
  -- or anywhere but at the end for '$'; repetitions try only where they might succeed.
  local follow, follow_text = items.follow, items.follow_text
  local past_captures = {} -- the first item from x on that is not a capture
  for x = n, 1, -1 do
    local what = items.kind[x]
    if what == OPEN or what == POSITION or what == CLOSE then
      follow[x], follow_text[x] = follow[x + 1], follow_text[x + 1]
      past_captures[x] = past_captures[x + 1]
    else
      follow[x] = what
      if what == LIT then follow_text[x] = items.arg2[x] end
      past_captures[x] = x
    end
  end
  -- tail_set[x]: when the items from x on are captures, a class with '*', captures and '$'
  -- (the end of a trim, "%s*$"), the class: the rest can match only where all the bytes left
  -- are in it.
  for x = 1, n do
    local star = past_captures[x]
    if items.kind[star] == STAR and follow[star + 1] == DOLLAR then
      items.tail_set[x] = items.arg[star]
    end
  end

  -- Where an unanchored search may start: when the pattern begins (after at most MAXCAPTURES
  -- capture openings, which cannot fail) with an item that must consume a byte, only at
  -- positions where that item can match. `first` is its byte (a literal or %b) or false (a
  -- class, in first_set); `skip` finds the next such position natively (plain or as a
  -- pattern of one class).
  local first = 1
  while (items.kind[first] == OPEN or items.kind[first] == POSITION) and first <= MAXCAPTURES do
    first = first + 1
  end
  local what, first_arg, first_arg2 = items.kind[first], items.arg[first], items.arg2[first]
  if what == LIT then
    items.first, items.skip, items.skip_plain = first_arg, sub(first_arg2, 1, NATIVE_NEEDLE), true
  elseif what == BALANCE then
    items.first, items.skip, items.skip_plain = first_arg, char(first_arg), true
  elseif (what == ONE or what == PLUS) and first_arg ~= ANY and first_arg2 then
    -- first_arg2 is "^<class>*"
    items.first, items.first_set, items.skip = false, first_arg, sub(first_arg2, 2, -2)
    items.skip_plain = false
  end
  return items
end

-- Compiled patterns by text, for patterns read from the start (gmatch, and patterns without
-- '^') and from the second byte (anchored find, match, gsub). Bounded: when the items held pass
-- CACHE_WEIGHT, both start over. Entries are never changed once stored, so threads share them.
local cache = { {}, {} }
local cache_weight = 0
local function compiled(p, first)
  local entry = cache[first][p]
  if entry then return entry end
  entry = compile(p, first)
  if cache_weight + entry.weight > CACHE_WEIGHT then
    cache = { {}, {} }
    cache_weight = 0
  end
  cache[first][p] = entry
  cache_weight = cache_weight + entry.weight
  return entry
end

-- ── Plain search ──────────────────────────────────────────────────────────────────────────

-- The first position >= init of needle in s, or nil (0 < init <= #s + 1).
local function plain_find(s, needle, init)
  local m = #needle
  if m <= NATIVE_NEEDLE then return (native_find(s, needle, init, true)) end
  if m > #s - init + 1 then return nil end
  -- KMP: border[q] is the length of the longest proper border of needle[1..q]
  local border = { 0 }
  local q = 0
  for i = 2, m do
    local c = byte(needle, i)
    while q > 0 and byte(needle, q + 1) ~= c do q = border[q] end
    if byte(needle, q + 1) == c then q = q + 1 end
    border[i] = q
  end
  -- With no partial match pending (q == 0), jump to the next occurrence of the needle's first
  -- NATIVE_NEEDLE bytes natively; the jumps scan disjoint stretches of s, so all is linear.
  local head = sub(needle, 1, NATIVE_NEEDLE)
  local i = init
  q = 0
  while true do
    if q == 0 then
      local at = native_find(s, head, i, true)
      if not at then return nil end
      i = at + NATIVE_NEEDLE
      q = NATIVE_NEEDLE
    end
    local c = byte(s, i)
    if c == nil then return nil end
    while q > 0 and byte(needle, q + 1) ~= c do q = border[q] end
    if byte(needle, q + 1) == c then q = q + 1 end
    i = i + 1
    if q == m then return i - m end
  end
end

-- ── The matcher ───────────────────────────────────────────────────────────────────────────

local function new_engine()
  -- `busy` while a call runs on this engine: a finalizer or hook that runs in the middle of a
  -- match, on the same thread, then gets an engine of its own (see engine_of_thread). Every
  -- exit of a call clears it, and so does every callback into user code.
  local engine = { busy = false }

  -- state of the current call, (re)loaded by use()
  local s, slen
  local kind, arg, arg2, balance_sets, follow, follow_text, tail_set
  local steps = 0
  local message -- the error when the matcher returns FAILED
  local cap_init, cap_len = {}, {} -- capture l (1-based): start and length (or CAP_*)
  local matched_level = 0 -- number of captures of the last successful match
  local values = {} -- captures handed out, reused

  -- B[i] is the byte i of s (B[slen + 1] is false): indexing a table costs a tenth of a call
  -- to string.byte. Bytes are read on first use, WINDOW at a time; past MAX_LOADED bytes read,
  -- B starts over, which bounds its memory. Between calls the engine holds B (and, in B, its
  -- subject) only weakly, so the next call on the same subject (gmatch, a loop of finds)
  -- finds the bytes read unless a collection freed them.
  local B
  local loaded = 0 -- bytes read into B
  local bytes_meta = {}
  local held = setmetatable({}, { __mode = "v" })
  local function new_bytes()
    B = setmetatable({ subject = s }, bytes_meta) -- (the only key that is not a position)
    B[slen + 1] = false
    loaded = 0
    return B
  end
  function bytes_meta.__index(t, i)
    if i > slen then return nil end
    if loaded >= MAX_LOADED then t = new_bytes() end
    loaded = loaded + WINDOW
    local a = i - (i - 1) % WINDOW -- (WINDOW is 16: the assignment below reads 16 bytes)
    t[a], t[a + 1], t[a + 2], t[a + 3], t[a + 4], t[a + 5], t[a + 6], t[a + 7], t[a + 8],
      t[a + 9], t[a + 10], t[a + 11], t[a + 12], t[a + 13], t[a + 14], t[a + 15] =
      byte(s, a, a + 15)
    if a + 15 > slen then t[slen + 1] = false end
    return t[i]
  end

  local function use(subject, pattern)
    if subject ~= s then
      s, slen = subject, #subject
      local kept = held[1]
      if kept and rawget(kept, "subject") == subject then
        B, loaded = kept, rawget(kept, "loaded")
      else
        new_bytes()
      end
    end
    kind, arg, arg2, balance_sets = pattern.kind, pattern.arg, pattern.arg2, pattern.balance_sets
    follow, follow_text, tail_set = pattern.follow, pattern.follow_text, pattern.tail_set
  end

  local function fail(text)
    message = text
    return FAILED
  end

  -- The end (first byte after) of the run of set members starting at i (a member).
  local function run_end(i, set, run)
    local j, stop = i + 1, i + QUICK_RUN
    while j < stop do
      if not set[B[j]] then
        steps = steps + (j - i)
        return j
      end
      j = j + 1
    end
    if run then
      local _, e = native_find(s, run, j)
      j = e + 1
    elseif run == false then -- '.'
      j = slen + 1
    else
      while set[B[j]] do j = j + 1 end
    end
    steps = steps + (j - i)
    return j
  end

  -- Captures closed by match() calls that have not failed yet: a call that fails reopens the
  -- ones it closed, as lstrlib.c's end_capture does when the rest of the pattern fails.
  local closed, closed_top = {}, 0

  -- lstrlib.c's match(): the end of a match of items k.. at si, nil, or FAILED. Captures open at
  -- entry: `level`; nesting: `depth`. As in C, each capture, repetition attempt and optional
  -- item nests one level deeper (captures without a Lua call: their nesting is only counted).
  local function match(si, k, level, depth)
    if depth > MAXCCALLS then return fail("pattern too complex") end
    if steps > max_steps then return fail(nil) end
    local closed_here = closed_top
    while true do
      steps = steps + 1
      local what = kind[k]
      if what <= ONE then
        if what == LIT then
          if B[si] ~= arg[k] then break end
          local text = arg2[k]
          local len = #text
          if len > 1 then
            if sub(s, si, si + len - 1) ~= text then break end
            steps = steps + (len >> 4)
          end
          si = si + len
        elseif not arg[k][B[si]] then
          break
        else
          si = si + 1
        end
        k = k + 1
      elseif what <= OPT then
        local set = arg[k]
        if not set[B[si]] then -- no repetition: '+' fails, the others go on with the next item
          if what == PLUS then break end
          k = k + 1
        elseif what == OPT then
          local e = match(si + 1, k + 1, level, depth + 1)
          if e then return e end
          k = k + 1
        elseif what == MINUS then
          -- the shortest repetition first: one attempt here, then one byte further each time
          k = k + 1
          depth = depth + 1
          local e = match(si, k, level, depth)
          if e then return e end
          local next_kind = follow[k]
          if next_kind == LIT then
            local text = follow_text[k]
            if set == ANY then -- jump to the next place of the literal natively
              if #text > NATIVE_NEEDLE then text = sub(text, 1, NATIVE_NEEDLE) end
              while true do
                local at = native_find(s, text, si + 1, true)
                steps = steps + ((at or slen) - si)
                if not at then break end
                e = match(at, k, level, depth)
                if e then return e end
                si = at
              end
            else
              local c = byte(text)
              while set[B[si]] do
                si = si + 1
                if B[si] == c then
                  e = match(si, k, level, depth)
                  if e then return e end
                end
                steps = steps + 1
              end
            end
          elseif next_kind == DOLLAR then -- only at the end of the subject
            if run_end(si, set, arg2[k - 1]) == slen + 1 then
              e = match(slen + 1, k, level, depth)
              if e then return e end
            end
          elseif tail_set[k] then -- ("%s*$") only where the bytes left are all in the tail's class
            local tail, from = tail_set[k], slen + 1
            while from > si + 1 and tail[B[from - 1]] do from = from - 1 end
            steps = steps + (slen - from)
            if from > si + 1 and run_end(si, set, arg2[k - 1]) >= from then
              si = from
              e = match(si, k, level, depth)
              if e then return e end
            end
            while set[B[si]] do
              si = si + 1
              e = match(si, k, level, depth)
              if e then return e end
            end
          else
            while set[B[si]] do
              si = si + 1
              e = match(si, k, level, depth)
              if e then return e end
            end
          end
          break
        else -- STAR or PLUS: the longest repetition first
          local i = run_end(si, set, arg2[k])
          local low = what == PLUS and si + 1 or si
          k = k + 1
          depth = depth + 1
          local after = kind[k]
          if (after == END or after == DOLLAR) and depth <= MAXCCALLS then
            -- (what the call below would do; after '$' only the longest can match)
            if after == DOLLAR and i ~= slen + 1 then break end
            matched_level = level
            return i
          end
          local e = match(i, k, level, depth)
          if e then return e end
          local next_kind = follow[k]
          if next_kind == LIT then
            local c = byte(follow_text[k])
            for j = i - 1, low, -1 do
              if B[j] == c then
                e = match(j, k, level, depth)
                if e then return e end
              end
            end
          elseif next_kind ~= DOLLAR then -- (after '$', only the longest can match)
            for j = i - 1, low, -1 do
              e = match(j, k, level, depth)
              if e then return e end
            end
          end
          break
        end
      elseif what <= DOLLAR then
        if what == OPEN or what == POSITION then
          if level >= MAXCAPTURES then return fail("too many captures") end
          depth = depth + 1
          if depth > MAXCCALLS then return fail("pattern too complex") end
          level = level + 1
          cap_init[level] = si
          cap_len[level] = what == OPEN and CAP_UNFINISHED or CAP_POSITION
          k = k + 1
        elseif what == CLOSE then
          local l = level
          while l > 0 and cap_len[l] ~= CAP_UNFINISHED do l = l - 1 end
          if l == 0 then return fail("invalid pattern capture") end
          cap_len[l] = si - cap_init[l]
          closed_top = closed_top + 1
          closed[closed_top] = l
          depth = depth + 1
          if depth > MAXCCALLS then return fail("pattern too complex") end
          k = k + 1
        elseif what == END or si == slen + 1 then -- END, or DOLLAR at the end
          matched_level = level
          return si
        else
          break
        end
      elseif what == BALANCE then
        local open = arg[k]
        if B[si] ~= open then break end
        local close, set = arg2[k], balance_sets[k]
        local open_count, j = 1, si
        repeat
          j = native_find(s, set, j + 1)
          if not j then break end
          local c = B[j]
          if c == close then
            open_count = open_count - 1
          elseif c == open then
            open_count = open_count + 1
          end
        until open_count == 0
        steps = steps + ((j or slen) - si)
        if not j then break end
        si = j + 1
        k = k + 1
      elseif what == FRONTIER then
        local set = arg[k]
        if set[si == 1 and 0 or B[si - 1]] or not set[B[si] or 0] then break end
        k = k + 1
      elseif what == BACKREF then
        local l = arg[k]
        local len = cap_len[l]
        if l < 1 or l > level or len == CAP_UNFINISHED then
          return fail(format("invalid capture index %%%d", l))
        end
        if len < 0 or si + len - 1 > slen then break end -- a position capture never matches
        local init = cap_init[l]
        if len > 0 and sub(s, init, init + len - 1) ~= sub(s, si, si + len - 1) then break end
        steps = steps + len
        si = si + len
        k = k + 1
      else -- ERROR
        return fail(arg[k])
      end
    end
    -- no match: reopen the captures closed on the way
    while closed_top > closed_here do
      cap_len[closed[closed_top]] = CAP_UNFINISHED
      closed_top = closed_top - 1
    end
    return nil
  end

  -- lstrlib.c's get_onecapture: capture i (1-based) of the last match of si..e-1, with the
  -- whole match standing for capture 1 when there are none; nil, message on error.
  local function capture(i, si, e)
    if i > matched_level then
      if i ~= 1 then return nil, format("invalid capture index %%%d", i) end
      return sub(s, si, e - 1)
    end
    local len = cap_len[i]
    if len == CAP_UNFINISHED then return nil, "unfinished capture" end
    if len == CAP_POSITION then return cap_init[i] end
    return sub(s, cap_init[i], cap_init[i] + len - 1)
  end

  -- Fills `values` with the captures of the last match (the whole match when it has none and
  -- si is given) and returns their number, or nil, message.
  local function captures(si, e)
    local n = matched_level
    if n == 0 and si then n = 1 end
    for i = 1, n do
      local v, err = capture(i, si, e)
      if v == nil then return nil, err end
      values[i] = v
    end
    return n
  end

  -- The first position >= si where a match may start, or nil: when the pattern starts with
  -- a byte or class (see compile), positions where it does not match are skipped (a few by
  -- looking, then natively).
  local function candidate(pattern, si)
    local first = pattern.first
    if first == nil then return si end
    local from, stop = si, si + QUICK_RUN
    if first then
      repeat
        if B[si] == first then return si end
        si = si + 1
      until si == stop
    else
      local set = pattern.first_set
      repeat
        if set[B[si]] then return si end
        si = si + 1
      until si == stop
    end
    local at = native_find(s, pattern.skip, si, pattern.skip_plain)
    steps = steps + ((at or slen + 1) - from)
    return at
  end

  -- Ends a call: the engine holds its subject only weakly, and is free (last: whatever runs
  -- after that, a hook or finalizer, may use it).
  local function release()
    if B then
      rawset(B, "loaded", loaded)
      held[1] = B
      s, slen, B = nil, nil, nil
    end
    for i = #values, 1, -1 do values[i] = nil end
    engine.busy = false
  end

  -- release(), then the arguments (the captures, taken from `values` before the engine is free)
  local function released(...)
    release()
    return ...
  end

  -- f(...) with the engine free (the arguments taken from `values` before)
  local function call_free(f, ...)
    engine.busy = false
    return f(...)
  end

  local function too_costly(name)
    return format("%s: pattern too costly for a subject of %d bytes (more than %d steps)",
      name, slen, max_steps)
  end

  local function raise_free(text, level)
    release()
    raise(text, level + 1)
  end

  -- string.find (find == true) and string.match from position init (1 <= init <= #s + 1).
  function engine.find(name, subject, p, init, find)
    engine.busy = true
    local anchor = byte(p, 1) == 94
    local pattern = compiled(p, anchor and 2 or 1)
    use(subject, pattern)
    steps = 0
    local si = init
    while true do
      if not anchor then
        si = candidate(pattern, si)
        if not si then break end
      end
      closed_top = 0
      local e = match(si, 1, 0, 1)
      if rawequal(e, FAILED) then raise_free(message or too_costly(name), 2) end
      if e then
        local n, err = captures(not find and si or nil, e)
        if not n then raise_free(err, 2) end
        if find then return released(si, e - 1, unpack(values, 1, n)) end
        return released(unpack(values, 1, n))
      end
      if anchor or si > slen then break end
      si = si + 1
    end
    release()
    return nil
  end

  -- One step of a gmatch iterator whose position and end of the last match are in `state`:
  -- the captures of the next match that does not end where the last one did, or nothing.
  function engine.gmatch(name, subject, pattern, state)
    engine.busy = true
    use(subject, pattern)
    steps = 0
    local si, lastmatch = state.si, state.lastmatch
    while si <= slen + 1 do
      si = candidate(pattern, si)
      if not si then break end
      closed_top = 0
      local e = match(si, 1, 0, 1)
      if rawequal(e, FAILED) then raise_free(message or too_costly(name), 2) end
      if e and e ~= lastmatch then
        local n, err = captures(si, e)
        if not n then raise_free(err, 2) end
        state.si, state.lastmatch = e, e
        return released(unpack(values, 1, n))
      end
      si = si + 1
    end
    release()
  end

  -- The replacement of the match si..e-1 by a replacement string compiled to `pieces` (see
  -- replacement_pieces), appended to out[n + 1 ..]; returns the new n.
  local function add_pieces(out, n, pieces, si, e)
    for i = 1, #pieces do
      local piece = pieces[i]
      if piece == 0 then
        piece = sub(s, si, e - 1)
      elseif piece == false then
        raise_free("invalid use of '%' in replacement string", 3)
      elseif type(piece) == "number" then
        local v, err = capture(piece, si, e)
        if v == nil then raise_free(err, 3) end
        piece = v
      end
      n = n + 1
      out[n] = piece
    end
    return n
  end

  -- string.gsub with repl a table, a function, replacement pieces (repl_type "string", see
  -- replacement_pieces) or a string without '%' (repl_type "literal").
  function engine.gsub(name, subject, p, repl, max_n, repl_type)
    engine.busy = true
    local anchor = byte(p, 1) == 94
    local pattern = compiled(p, anchor and 2 or 1)
    use(subject, pattern)
    steps = 0
    local out, n_out = {}, 0
    local src, copied = 1, 1 -- next position to match; subject bytes before `copied` are in out
    local lastmatch
    local count, changed = 0, false
    while count < max_n do
      if not anchor then
        local at = candidate(pattern, src)
        if not at then break end
        src = at
      end
      closed_top = 0
      local e = match(src, 1, 0, 1)
      if rawequal(e, FAILED) then raise_free(message or too_costly(name), 2) end
      if e and e ~= lastmatch then
        count = count + 1
        local value = true
        if repl_type == "literal" then
          if src > copied then
            n_out = n_out + 1
            out[n_out] = sub(s, copied, src - 1)
          end
          n_out = n_out + 1
          out[n_out] = repl
        elseif repl_type == "string" then
          if src > copied then
            n_out = n_out + 1
            out[n_out] = sub(s, copied, src - 1)
          end
          n_out = add_pieces(out, n_out, repl, src, e)
        else
          local saved_steps = steps
          if repl_type == "table" then
            local key, err = capture(1, src, e)
            if key == nil then raise_free(err, 2) end
            engine.busy = false
            value = repl[key]
          else
            local n, err = captures(src, e)
            if not n then raise_free(err, 2) end
            value = call_free(repl, unpack(values, 1, n))
          end
          engine.busy = true
          use(subject, pattern) -- the callback may have used this engine
          steps = saved_steps
          if value then -- else the match stays as it is
            local t = type(value)
            if t ~= "string" and t ~= "number" then
              raise_free("invalid replacement value (a " .. t .. ")", 2)
            end
            if src > copied then
              n_out = n_out + 1
              out[n_out] = sub(s, copied, src - 1)
            end
            n_out = n_out + 1
            out[n_out] = value
          end
        end
        if value then changed, copied = true, e end
        src, lastmatch = e, e
      elseif src <= slen then
        src = src + 1
      else
        break
      end
      if anchor then break end
    end
    release()
    if not changed then return subject, count end
    n_out = n_out + 1
    out[n_out] = sub(subject, copied, -1)
    return concat(out, "", 1, n_out), count
  end

  return engine
end

-- One engine per Lua thread (weak keys: it goes with its thread). A call made while the
-- thread's engine is busy gets a fresh one, which the thread keeps from then on: the busy one
-- goes with the call that uses it (or was left busy by an error raised inside the matcher,
-- out of memory or a hook's).
local engines = setmetatable({}, { __mode = "k" })
if options.share then options.share(engines) end
local function engine_of_thread()
  local thread = running()
  local engine = engines[thread]
  if not engine or engine.busy then
    engine = new_engine()
    engines[thread] = engine
  end
  return engine
end

-- ── Arguments ─────────────────────────────────────────────────────────────────────────────

local function type_name(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return name end
  return type(v)
end

-- luaL_checklstring: a string, or a number converted to one (as lua_tolstring writes it).
local function check_string(v, i, name)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return v .. "" end
  raise(format("bad argument #%d to '%s' (string expected, got %s)", i, name, type_name(v)), 3)
end

-- luaL_optinteger: nil gives the default; numbers and numeric strings with an integer value.
local function opt_integer(v, i, name, default)
  if v == nil then return default end
  local n = v
  if type(v) == "string" then n = tonumber(v) end
  if math_type(n) == "integer" then return n end
  if math_type(n) == "float" then
    n = tointeger(n)
    if n then return n end
    raise(format("bad argument #%d to '%s' (number has no integer representation)", i, name), 3)
  end
  raise(format("bad argument #%d to '%s' (number expected, got %s)", i, name, type_name(v)), 3)
end

-- lstrlib.c's posrelatI: a 1-based start position from a relative one.
local function start_position(pos, len)
  if pos > 0 then return pos end
  if pos == 0 or pos < -len then return 1 end
  return len + pos + 1
end

-- A replacement string as pieces: strings to copy, capture numbers (0 for the whole match), or
-- false for an invalid '%' (which raises when reached).
local function replacement_pieces(repl)
  local at = native_find(repl, "%", 1, true)
  local pieces, from = {}, 1
  while at do
    if at > from then pieces[#pieces + 1] = sub(repl, from, at - 1) end
    local c = byte(repl, at + 1)
    if c == 37 then
      pieces[#pieces + 1] = "%"
    elseif c and c >= 48 and c <= 57 then
      pieces[#pieces + 1] = c - 48
    else
      pieces[#pieces + 1] = false
      return pieces
    end
    from = at + 2
    at = native_find(repl, "%", from, true)
  end
  if from <= #repl then pieces[#pieces + 1] = sub(repl, from) end
  return pieces
end

local SPECIALS = "[%^%$%*%+%?%.%(%[%%%-]"

-- ── The module ────────────────────────────────────────────────────────────────────────────

local M = {}

function M.find(s, p, init, plain)
  s = check_string(s, 1, "find")
  p = check_string(p, 2, "find")
  local ls = #s
  init = start_position(opt_integer(init, 3, "find", 1), ls)
  if init > ls + 1 then return nil end
  if plain or not native_find(p, SPECIALS) then
    local at = plain_find(s, p, init)
    if at then return at, at + #p - 1 end
    return nil
  end
  return engine_of_thread().find("string.find", s, p, init, true)
end

function M.match(s, p, init)
  s = check_string(s, 1, "match")
  p = check_string(p, 2, "match")
  local ls = #s
  init = start_position(opt_integer(init, 3, "match", 1), ls)
  if init > ls + 1 then return nil end
  return engine_of_thread().find("string.match", s, p, init, false)
end

function M.gmatch(s, p, init)
  s = check_string(s, 1, "gmatch")
  p = check_string(p, 2, "gmatch")
  local ls = #s
  local si = start_position(opt_integer(init, 3, "gmatch", 1), ls)
  if si > ls + 1 then si = ls + 2 end
  local pattern = compiled(p, 1)
  local state = { si = si, lastmatch = nil }
  return function()
    return engine_of_thread().gmatch("string.gmatch", s, pattern, state)
  end
end

function M.gsub(s, p, repl, n)
  s = check_string(s, 1, "gsub")
  p = check_string(p, 2, "gsub")
  local repl_type = type(repl)
  n = opt_integer(n, 4, "gsub", #s + 1)
  if repl_type == "number" then
    repl, repl_type = repl .. "", "string"
  elseif repl_type ~= "string" and repl_type ~= "table" and repl_type ~= "function" then
    raise(format("bad argument #3 to 'gsub' (string/function/table expected, got %s)",
      type_name(repl)), 2)
  end
  if repl_type == "string" then
    if native_find(repl, "%", 1, true) then
      repl = replacement_pieces(repl)
    else
      repl_type = "literal"
    end
  end
  return engine_of_thread().gsub("string.gsub", s, p, repl, n, repl_type)
end

return M
