-- json: the built-in `json` module (RFC 8259).
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.new_error(kind, message) -> error value returned to Lua callers
--   deps.array_mt                 -> marker metatable: a table carrying it is a JSON array
-- and returning the module table M.
--
-- M.encode(value) -> string | nil, err
--   nil and M.null -> null; booleans; integers as integers ("%d"); floats with the fewest
--   digits (15, 16 or 17 significant) that read back to the same float, with ".0" appended when
--   the result would look like an integer (1.0 -> "1.0", -0.0 -> "-0.0"), so a float stays a
--   float through encode/decode; strings must be valid UTF-8 and are written as UTF-8 with `"`,
--   `\` and the control characters U+0000-U+001F escaped (\b \f \n \r \t, else \u00XX).
--   A table whose keys are exactly the integers 1..n (n >= 1) is an array; a table whose keys
--   are all integers but not 1..n (a sequence with holes, or not starting at 1) is an error
--   (a "sparse array": use M.null for "no value" inside arrays). Any other non-empty table is
--   an object whose keys must be strings or integers (integers become decimal string keys)
--   and are written in byte order of the key strings, so output is deterministic.
--   An empty table is `[]` unless its metatable is OBJECT_MT (see M.object), then `{}`.
--   Tables are read raw (no __pairs/__index).
--   Fails, returning nil and deps.new_error("INTERNAL", message) with the message prefixed
--   "json.encode: ", on NaN or infinite numbers, functions, userdata, threads, sparse arrays,
--   non-string/non-integer keys, two keys with the same string form (e.g. 1 and "1"), invalid
--   UTF-8, cyclic tables and nesting deeper than MAX_DEPTH.
--   A table referenced twice without a cycle is written twice.
--
-- M.decode(text) -> value | nil, err
--   Full RFC 8259 text: any value at the top level, surrounding whitespace, nothing after it.
--   Numbers without fraction or exponent become integers when they fit in 64 bits, else floats;
--   all other numbers are floats; a number too large for a float is an error.
--   \uXXXX escapes (surrogate pairs included) become UTF-8; a lone surrogate is an error.
--   `null` inside an array decodes to M.null (so #arr and positions are kept); `null` as an
--   object member leaves the key absent; a top-level `null` decodes to nil (with no error).
--   Arrays get the metatable deps.array_mt; an empty object gets OBJECT_MT, so it re-encodes
--   as `{}` (a non-empty object stays a plain table).
--   Duplicate object keys: the last one wins. The text must be valid UTF-8; no BOM.
--   Errors are deps.new_error(kind, message) with messages naming the 1-based byte position
--   (the Lua string index), e.g. "json: unexpected character 'x' at position 12"; kind is
--   "INVALID" for empty text, "INTERNAL" for any other text that is not JSON (the kinds
--   Wippy's json module gives).
--   Raises only when `text` is not a string.
--
-- M.null      unique sentinel value that encodes as `null`; tostring gives "json.null"
-- M.array(t?) marks t (or a new table) as an array, so it encodes as `[]` when empty; returns it
-- M.object(t?) marks t (or a new table) as an object, so it encodes as `{}` when empty; returns it
-- M.MAX_DEPTH nesting limit for encode and decode (1000)

local deps = ...
-- Values are compared with the module's own tables (null, the metatables) raw: `==` would run
-- a `__eq` the value's metatable planted, handing it a table every process shares.
local rawequal = rawequal
if type(deps) ~= "table" or type(deps.new_error) ~= "function"
  or type(deps.array_mt) ~= "table" then
  error("json.lua: expected deps with new_error (function) and array_mt (table)", 2)
end

local new_error = deps.new_error
local array_mt = deps.array_mt
-- The marker may protect itself with __metatable: compare the real metatable.
local raw_getmetatable = debug.getmetatable

local byte, char, find, format, sub, gsub = string.byte, string.char, string.find, string.format,
  string.sub, string.gsub
local concat, sort = table.concat, table.sort
local math_type, huge = math.type, math.huge
local utf8_char, utf8_len, utf8_codepoint = utf8.char, utf8.len, utf8.codepoint

local MAX_DEPTH = 1000

local M = {}

M.MAX_DEPTH = MAX_DEPTH

M.null = setmetatable({}, {
  __tostring = function() return "json.null" end,
  __newindex = function() error("json.null is read-only", 2) end,
  __metatable = "json.null",
})
local null = M.null

-- Marks a table as a JSON object, so an empty one encodes as {}. Shared by every user of the
-- module, so getmetatable hands out a name instead of the table.
local OBJECT_MT = { __name = "object", __metatable = "json.object" }

-- A marker function: marks t (or a new table) with mt, refusing a table with another metatable.
local function marker(name, mt)
  return function(t)
    if t == nil then
      return setmetatable({}, mt)
    end
    if type(t) ~= "table" then
      error("json." .. name .. ": expected a table or nil, got " .. type(t), 2)
    end
    local current = raw_getmetatable(t)
    if current ~= nil and current ~= mt then
      error("json." .. name .. ": table already has a metatable", 2)
    end
    return setmetatable(t, mt)
  end
end
M.array = marker("array", array_mt)
M.object = marker("object", OBJECT_MT)

-- Encoding ------------------------------------------------------------------------------------

-- Errors raised while encoding are tables {msg = ...}, so encode can re-raise them at the
-- caller's level and let any other error (a bug) through unchanged.
local function fail(msg)
  error({ msg = msg }, 0)
end

local ESCAPES = {
  ['"'] = '\\"',
  ["\\"] = "\\\\",
  ["\b"] = "\\b",
  ["\f"] = "\\f",
  ["\n"] = "\\n",
  ["\r"] = "\\r",
  ["\t"] = "\\t",
}
for code = 0, 31 do
  local c = char(code)
  if ESCAPES[c] == nil then
    ESCAPES[c] = format("\\u%04x", code)
  end
end

local function encode_string(s, what)
  if not utf8_len(s) then
    fail("cannot encode invalid UTF-8 in " .. what)
  end
  -- %c also matches DEL (0x7f), which has no entry in ESCAPES and so is kept as is
  return '"' .. gsub(s, '[%c"\\]', ESCAPES) .. '"'
end

local function encode_float(x)
  if x ~= x then
    fail("cannot encode NaN as JSON")
  end
  if x == huge or x == -huge then
    fail("cannot encode inf as JSON")
  end
  local s
  for digits = 15, 17 do
    s = format("%." .. digits .. "g", x)
    if tonumber(s) == x then
      break
    end
  end
  if not find(s, "[.eE]") then -- looks like an integer: keep it a float
    s = s .. ".0"
  end
  return s
end

local function key_string(k)
  if type(k) == "string" then
    return encode_string(k, "an object key"), k
  end
  if math_type(k) == "integer" then
    local s = format("%d", k)
    return '"' .. s .. '"', s
  end
  fail("cannot encode an object key of type " .. (math_type(k) or type(k)) .. " (" .. tostring(k)
    .. "); keys must be strings or integers")
end

local encode_value

local function encode_table(t, out, stack, depth)
  if stack[t] then
    fail("cannot encode a cyclic table")
  end
  if depth > MAX_DEPTH then
    fail("nesting deeper than " .. MAX_DEPTH .. " levels")
  end
  local count, is_array = 0, true
  for k in next, t do
    count = count + 1
    if is_array and (math_type(k) ~= "integer" or k < 1) then
      is_array = false
    end
  end
  if is_array and count > 0 then
    -- all keys are positive integers; they are exactly 1..count iff none exceeds count
    local largest = count
    for k in next, t do
      if k > largest then largest = k end
    end
    if largest > count then
      fail("cannot encode a sparse array (integer keys with gaps, up to " .. largest .. " for "
        .. count .. " values); use json.null for a missing value")
    end
  elseif not is_array and count > 0 then
    local only_integers = true
    for k in next, t do
      if math_type(k) ~= "integer" then
        only_integers = false
        break
      end
    end
    if only_integers then
      fail("cannot encode a sparse array (integer keys not starting at 1)")
    end
  end
  stack[t] = true
  if count == 0 then
    out[#out + 1] = rawequal(raw_getmetatable(t), OBJECT_MT) and "{}" or "[]"
  elseif is_array then
    out[#out + 1] = "["
    for i = 1, count do
      if i > 1 then
        out[#out + 1] = ","
      end
      encode_value(rawget(t, i), out, stack, depth + 1)
    end
    out[#out + 1] = "]"
  else
    local keys, encoded, seen = {}, {}, {}
    for k in next, t do
      local quoted, plain = key_string(k)
      if seen[plain] then
        fail("cannot encode two keys with the same string form (" .. encoded[plain] .. ")")
      end
      seen[plain] = k
      encoded[plain] = quoted
      keys[#keys + 1] = plain
    end
    sort(keys)
    out[#out + 1] = "{"
    for i = 1, #keys do
      local plain = keys[i]
      if i > 1 then
        out[#out + 1] = ","
      end
      out[#out + 1] = encoded[plain]
      out[#out + 1] = ":"
      encode_value(rawget(t, seen[plain]), out, stack, depth + 1)
    end
    out[#out + 1] = "}"
  end
  stack[t] = nil
end

encode_value = function(v, out, stack, depth)
  local tv = type(v)
  if v == nil or rawequal(v, null) then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = math_type(v) == "integer" and format("%d", v) or encode_float(v)
  elseif tv == "string" then
    out[#out + 1] = encode_string(v, "a string")
  elseif tv == "table" then
    encode_table(v, out, stack, depth)
  else
    fail("cannot encode a " .. tv .. " as JSON")
  end
end

function M.encode(value)
  local out = {}
  local ok, err = pcall(encode_value, value, out, {}, 1)
  if not ok then
    if type(err) == "table" and type(err.msg) == "string" then
      return nil, new_error("INTERNAL", "json.encode: " .. err.msg)
    end
    error(err, 0)
  end
  return concat(out)
end

-- Decoding ------------------------------------------------------------------------------------

-- Errors raised while decoding are tables {msg = ...}; decode turns them into nil, err.
-- The character at pos for an error message: 'x' for printable ASCII, 0xNN for other ASCII
-- bytes, U+XXXX for the rest (the text is valid UTF-8 by then, so pos starts a character).
local function describe(s, pos)
  local c = byte(s, pos)
  if c >= 32 and c < 127 then
    return "character '" .. char(c) .. "'"
  elseif c < 128 then
    return format("character 0x%02X", c)
  end
  return format("character U+%04X", utf8_codepoint(s, pos))
end

local function unexpected(s, pos, expected)
  if pos > #s then
    fail(format("json: unexpected end of input at position %d (expected %s)", pos, expected))
  end
  fail(format("json: unexpected %s at position %d (expected %s)", describe(s, pos), pos, expected))
end

local function skip_ws(s, pos)
  local _, e = find(s, "^[ \t\r\n]*", pos)
  return e + 1
end

local function decode_number(s, pos)
  local i = pos
  if byte(s, i) == 45 then -- '-'
    i = i + 1
  end
  local c = byte(s, i)
  if c == 48 then -- '0'
    i = i + 1
    c = byte(s, i)
    if c and c >= 48 and c <= 57 then
      fail(format("json: invalid number at position %d (leading zero)", pos))
    end
  elseif c and c >= 49 and c <= 57 then
    local _, e = find(s, "^%d*", i + 1)
    i = e + 1
  else
    fail(format("json: invalid number at position %d (expected a digit at position %d)", pos, i))
  end
  if byte(s, i) == 46 then -- '.'
    local _, e = find(s, "^%d+", i + 1)
    if not e then
      fail(format("json: invalid number at position %d (expected a digit at position %d)", pos,
        i + 1))
    end
    i = e + 1
  end
  c = byte(s, i)
  if c == 101 or c == 69 then -- 'e' or 'E'
    i = i + 1
    c = byte(s, i)
    if c == 43 or c == 45 then -- '+' or '-'
      i = i + 1
    end
    local _, e = find(s, "^%d+", i)
    if not e then
      fail(format("json: invalid number at position %d (expected a digit at position %d)", pos, i))
    end
    i = e + 1
  end
  local text = sub(s, pos, i - 1)
  -- Lua reads a decimal numeral without '.'/exponent as an integer when it fits, else a float.
  -- (a '.' or an exponent always makes it a float).
  local n = tonumber(text)
  if n == huge or n == -huge then
    fail(format("json: number out of range at position %d", pos))
  end
  return n, i
end

local SIMPLE_ESCAPES = {
  [34] = '"',
  [92] = "\\",
  [47] = "/",
  [98] = "\b",
  [102] = "\f",
  [110] = "\n",
  [114] = "\r",
  [116] = "\t",
}

local function read_hex4(s, pos)
  local hex = sub(s, pos, pos + 3)
  if not find(hex, "^%x%x%x%x$") then
    return nil
  end
  return tonumber(hex, 16)
end

-- What ends a run of plain characters in a string.
local STRING_SPECIAL = '[\0-\31"\\]'
-- The native find runs no Lua instruction: over a long string value it would hold the thread
-- where no scheduler can preempt it (a second for 64 MiB). The string's run of plain
-- characters ends at the next quote at the latest, which a plain find reaches at memchr's
-- speed: when that (or the document's end) is near, one search does; when it is far, or
-- there is none, the search goes a window at a time, the copy of each a check of the time.
local SCAN_WINDOW = 1 << 16

--- The position of the first special character of s at or after i, or nil.
local function find_special(s, i)
  -- A short document needs no search for the quote: its end is near.
  if #s - i < SCAN_WINDOW then return find(s, STRING_SPECIAL, i) end
  local last = (find(s, '"', i, true) or #s) - SCAN_WINDOW
  while i <= last do
    local j = find(sub(s, i, i + SCAN_WINDOW - 1), STRING_SPECIAL)
    if j then return i + j - 1 end
    i = i + SCAN_WINDOW
  end
  return find(s, STRING_SPECIAL, i)
end

local function decode_string(s, pos)
  local parts, n = {}, 0
  local i = pos + 1
  while true do
    local j = find_special(s, i)
    if not j then
      fail(format("json: unterminated string starting at position %d", pos))
    end
    if j > i then
      n = n + 1
      parts[n] = sub(s, i, j - 1)
    end
    local c = byte(s, j)
    if c == 34 then -- closing quote
      return concat(parts), j + 1
    elseif c == 92 then -- backslash
      local e = byte(s, j + 1)
      local simple = SIMPLE_ESCAPES[e]
      if simple then
        n = n + 1
        parts[n] = simple
        i = j + 2
      elseif e == 117 then -- 'u'
        local cp = read_hex4(s, j + 2)
        if not cp then
          fail(format("json: invalid unicode escape at position %d (expected 4 hex digits)", j))
        end
        i = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local low = byte(s, i) == 92 and byte(s, i + 1) == 117 and read_hex4(s, i + 2)
          if not low or low < 0xDC00 or low > 0xDFFF then
            fail(format("json: invalid surrogate pair at position %d (high surrogate \\u%04x "
              .. "without a low surrogate)", j, cp))
          end
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
          i = i + 6
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          fail(format("json: invalid surrogate pair at position %d (low surrogate \\u%04x "
            .. "without a high surrogate)", j, cp))
        end
        n = n + 1
        parts[n] = utf8_char(cp)
      elseif e == nil then
        fail(format("json: unterminated string starting at position %d", pos))
      else
        fail(format("json: invalid escape '\\%s' at position %d", char(e), j))
      end
    else
      fail(format("json: unescaped control character 0x%02X in string at position %d", c, j))
    end
  end
end

local decode_value

local function decode_array(s, pos, depth)
  local arr, n = setmetatable({}, array_mt), 0
  local i = skip_ws(s, pos + 1)
  if byte(s, i) == 93 then -- ']'
    return arr, i + 1
  end
  while true do
    local v
    v, i = decode_value(s, i, depth)
    n = n + 1
    arr[n] = v == nil and null or v
    i = skip_ws(s, i)
    local c = byte(s, i)
    if c == 93 then
      return arr, i + 1
    elseif c ~= 44 then -- ','
      unexpected(s, i, "',' or ']'")
    end
    i = skip_ws(s, i + 1)
  end
end

local function decode_object(s, pos, depth)
  local obj = {}
  local i = skip_ws(s, pos + 1)
  if byte(s, i) == 125 then -- '}'
    return setmetatable(obj, OBJECT_MT), i + 1
  end
  while true do
    if byte(s, i) ~= 34 then
      unexpected(s, i, "a string key")
    end
    local key
    key, i = decode_string(s, i)
    i = skip_ws(s, i)
    if byte(s, i) ~= 58 then -- ':'
      unexpected(s, i, "':'")
    end
    local v
    v, i = decode_value(s, skip_ws(s, i + 1), depth)
    obj[key] = v -- null (nil) leaves the key absent; a later duplicate wins
    i = skip_ws(s, i)
    local c = byte(s, i)
    if c == 125 then
      return obj, i + 1
    elseif c ~= 44 then
      unexpected(s, i, "',' or '}'")
    end
    i = skip_ws(s, i + 1)
  end
end

local LITERALS = { [116] = "true", [102] = "false", [110] = "null" }
local LITERAL_VALUES = { ["true"] = true, ["false"] = false }

-- Returns the value (nil for null) and the position after it; `pos` is not whitespace.
decode_value = function(s, pos, depth)
  local c = byte(s, pos)
  if c == 123 or c == 91 then -- '{' or '['
    if depth >= MAX_DEPTH then
      fail(format("json: nesting deeper than %d levels at position %d", MAX_DEPTH, pos))
    end
    if c == 123 then
      return decode_object(s, pos, depth + 1)
    end
    return decode_array(s, pos, depth + 1)
  elseif c == 34 then
    return decode_string(s, pos)
  elseif c == 45 or (c and c >= 48 and c <= 57) then
    return decode_number(s, pos)
  end
  local word = LITERALS[c]
  if word then
    if sub(s, pos, pos + #word - 1) == word then
      return LITERAL_VALUES[word], pos + #word
    end
    -- point at the first byte that differs
    local k = pos
    while byte(s, k) == byte(word, k - pos + 1) do
      k = k + 1
    end
    unexpected(s, k, "'" .. word .. "'")
  end
  unexpected(s, pos, "a JSON value")
end

local function decode(s)
  local valid, bad = utf8_len(s)
  if not valid then
    fail(format("json: invalid UTF-8 byte 0x%02X at position %d", byte(s, bad), bad))
  end
  local value, pos = decode_value(s, skip_ws(s, 1), 0)
  pos = skip_ws(s, pos)
  if pos <= #s then
    unexpected(s, pos, "end of input")
  end
  return value
end

-- The value text holds, or nil and the message saying what is wrong with it.
local function try_decode(text)
  local ok, result = pcall(decode, text)
  if ok then
    return result
  end
  if type(result) == "table" and type(result.msg) == "string" then
    return nil, result.msg
  end
  error(result, 0)
end

function M.decode(text)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local value, problem = try_decode(text)
  if problem then
    return nil, new_error(text == "" and "INVALID" or "INTERNAL", problem)
  end
  return value
end

-- Schema validation ---------------------------------------------------------------------------

-- JSON Schema (draft 2020-12) assertions over Lua values, read the way M.encode writes them: a
-- table with keys 1..n is an array, an empty table is either an array or an object unless
-- marked. Annotations (title, description, default, examples, format, ...) and unknown keywords
-- are ignored, as the specification says; the regular-expression keywords are refused (a Lua
-- pattern is not an ECMA-262 regular expression, and a regular expression running in the host
-- could not be preempted).
local UNSUPPORTED = { pattern = true, patternProperties = true, ["$dynamicRef"] = true }
local TYPES = {
  null = true, boolean = true, object = true, array = true, number = true, integer = true,
  string = true,
}
local MAX_ERRORS = 10

-- Errors in the schema itself end the validation: tables {schema = message}.
local function schema_fail(path, msg)
  error({ schema = "at " .. (path == "" and "#" or "#" .. path) .. ": " .. msg }, 0)
end

-- The number of elements when t's keys are exactly 1..n, else nil.
local function sequence_length(t)
  local count = 0
  for k in next, t do
    if math_type(k) ~= "integer" or k < 1 then return nil end
    count = count + 1
  end
  for k in next, t do
    if k > count then return nil end
  end
  return count
end

-- The JSON type of v: "null", "boolean", "number", "string", "array", "object", "empty" (an
-- unmarked empty table, which is both an array and an object), or nil for a non-JSON value.
local function json_type(v)
  if v == nil or rawequal(v, null) then return "null" end
  local tv = type(v)
  if tv == "boolean" or tv == "string" or tv == "number" then return tv end
  if tv ~= "table" then return nil end
  if next(v) == nil then
    local mt = raw_getmetatable(v)
    if rawequal(mt, array_mt) then return "array" end
    if rawequal(mt, OBJECT_MT) then return "object" end
    return "empty"
  end
  return sequence_length(v) and "array" or "object"
end

local function has_type(v, kind, name)
  if name == "integer" then
    return kind == "number" and (math_type(v) == "integer" or (v == v and v % 1 == 0))
  end
  if kind == "empty" then return name == "array" or name == "object" end
  return kind == name
end

-- JSON equality: numbers by value (1 == 1.0), arrays by position, objects by key.
local function json_equal(a, b, depth)
  if depth > MAX_DEPTH then fail("nesting deeper than " .. MAX_DEPTH .. " levels") end
  local ka, kb = json_type(a), json_type(b)
  if ka == "empty" or kb == "empty" then -- equal to an empty array or object, marked or not
    return type(a) == "table" and type(b) == "table" and next(a) == nil and next(b) == nil
  end
  if ka ~= kb then return false end
  if ka == "array" or ka == "object" then
    for k, v in next, a do
      if not json_equal(v, rawget(b, k), depth + 1) then return false end
    end
    for k in next, b do
      if rawget(a, k) == nil then return false end
    end
    return true
  end
  if ka == "null" then return true end
  return a == b
end

local function child_path(path, key)
  return path .. "/" .. gsub(gsub(tostring(key), "~", "~0"), "/", "~1")
end

local function is_schema_array(value)
  return type(value) == "table" and (next(value) == nil or sequence_length(value) ~= nil)
end

local function number_keyword(schema, name, path)
  local n = rawget(schema, name)
  if n ~= nil and type(n) ~= "number" then schema_fail(path, name .. " must be a number") end
  return n
end

local function count_keyword(schema, name, path)
  local n = rawget(schema, name)
  if n ~= nil and (math_type(n) ~= "integer" and not (type(n) == "number" and n % 1 == 0) or n < 0)
  then
    schema_fail(path, name .. " must be a non-negative integer")
  end
  return n
end

local check -- check(schema, value, path, spath, ctx, depth): adds to ctx.errors

-- Runs check into a fresh error list and says whether the value passed.
local function passes(schema, value, path, spath, ctx, depth)
  local saved = ctx.errors
  ctx.errors = {}
  check(schema, value, path, spath, ctx, depth)
  local ok = #ctx.errors == 0
  ctx.errors = saved
  return ok
end

local function report(ctx, path, msg)
  local list = ctx.errors
  if #list < MAX_ERRORS then
    list[#list + 1] = (path == "" and "/" or path) .. ": " .. msg
  end
end

-- Reports a count (of properties, items, characters, ...) outside the bounds a schema sets.
local function check_count(ctx, path, count, schema, spath, min_name, max_name, what)
  local min, max = count_keyword(schema, min_name, spath), count_keyword(schema, max_name, spath)
  if min and count < min then
    report(ctx, path, format("expected at least %d %s, got %d", min, what, count))
  end
  if max and count > max then
    report(ctx, path, format("expected at most %d %s, got %d", max, what, count))
  end
end

local function resolve_ref(ref, ctx, spath)
  if type(ref) ~= "string" or sub(ref, 1, 1) ~= "#" then
    schema_fail(spath, "$ref must be a local reference starting with # (got " .. tostring(ref)
      .. ")")
  end
  local target = ctx.root
  for part in string.gmatch(sub(ref, 2), "[^/]+") do
    part = gsub(gsub(part, "~1", "/"), "~0", "~")
    if type(target) ~= "table" then target = nil break end
    local index = tonumber(part)
    local found = rawget(target, part)
    if found == nil and index then found = rawget(target, index + 1) end
    target = found
  end
  if target == nil then schema_fail(spath, "$ref " .. ref .. " points at nothing") end
  return target
end

local function check_object(schema, value, path, spath, ctx, depth)
  local properties = rawget(schema, "properties")
  if properties ~= nil and type(properties) ~= "table" then
    schema_fail(spath, "properties must be an object")
  end
  local required = rawget(schema, "required")
  if required ~= nil then
    if not is_schema_array(required) then schema_fail(spath, "required must be an array") end
    for _, name in ipairs(required) do
      if rawget(value, name) == nil then
        report(ctx, path, "missing required property " .. format("%q", name))
      end
    end
  end
  local additional = rawget(schema, "additionalProperties")
  local names = rawget(schema, "propertyNames")
  local count = 0
  for k, v in next, value do
    count = count + 1
    local key = type(k) == "string" and k or tostring(k)
    local sub_schema = properties and rawget(properties, key)
    if sub_schema ~= nil then
      check(sub_schema, v, child_path(path, key), spath .. "/properties/" .. key, ctx, depth + 1)
    elseif additional ~= nil then
      if additional == false then
        report(ctx, path, "property " .. format("%q", key) .. " is not allowed")
      else
        check(additional, v, child_path(path, key), spath .. "/additionalProperties", ctx,
          depth + 1)
      end
    end
    if names ~= nil then
      check(names, key, child_path(path, key), spath .. "/propertyNames", ctx, depth + 1)
    end
  end
  check_count(ctx, path, count, schema, spath, "minProperties", "maxProperties", "properties")
  local dependent = rawget(schema, "dependentRequired")
  if type(dependent) == "table" then
    for name, needs in next, dependent do
      if rawget(value, name) ~= nil and type(needs) == "table" then
        for _, other in ipairs(needs) do
          if rawget(value, other) == nil then
            report(ctx, path, format("property %q requires property %q", name, other))
          end
        end
      end
    end
  end
end

local function check_array(schema, value, path, spath, ctx, depth)
  local n = #value
  local prefix = rawget(schema, "prefixItems")
  local items = rawget(schema, "items")
  if is_schema_array(items) and next(items) ~= nil then -- draft 7's tuple form
    prefix, items = items, rawget(schema, "additionalItems")
  end
  local from = 1
  if prefix ~= nil then
    if not is_schema_array(prefix) then schema_fail(spath, "prefixItems must be an array") end
    for i = 1, math.min(#prefix, n) do
      check(prefix[i], value[i], child_path(path, i - 1), spath .. "/prefixItems/" .. (i - 1), ctx,
        depth + 1)
    end
    from = #prefix + 1
  end
  if items ~= nil then
    for i = from, n do
      if items == false then
        report(ctx, path, format("expected at most %d items, got %d", from - 1, n))
        break
      end
      check(items, value[i], child_path(path, i - 1), spath .. "/items", ctx, depth + 1)
    end
  end
  check_count(ctx, path, n, schema, spath, "minItems", "maxItems", "items")
  if rawget(schema, "uniqueItems") == true then
    for i = 2, n do
      for j = 1, i - 1 do
        if json_equal(value[i], value[j], depth) then
          report(ctx, path, format("items %d and %d are equal", j - 1, i - 1))
        end
      end
    end
  end
  local contains = rawget(schema, "contains")
  if contains ~= nil then
    local found = 0
    for i = 1, n do
      local where = child_path(path, i - 1)
      if passes(contains, value[i], where, spath .. "/contains", ctx, depth + 1) then
        found = found + 1
      end
    end
    if rawget(schema, "minContains") == nil and found == 0 then
      report(ctx, path, "no item matches contains")
    end
    check_count(ctx, path, found, schema, spath, "minContains", "maxContains", "matching items")
  end
end

local function check_combinators(schema, value, path, spath, ctx, depth)
  for _, name in ipairs({ "allOf", "anyOf", "oneOf" }) do
    local list = rawget(schema, name)
    if list ~= nil then
      if not is_schema_array(list) or next(list) == nil then
        schema_fail(spath, name .. " must be a non-empty array")
      end
      local matched = 0
      for i, sub_schema in ipairs(list) do
        local where = spath .. "/" .. name .. "/" .. (i - 1)
        if name == "allOf" then
          check(sub_schema, value, path, where, ctx, depth + 1)
        elseif passes(sub_schema, value, path, where, ctx, depth + 1) then
          matched = matched + 1
        end
      end
      if name == "anyOf" and matched == 0 then report(ctx, path, "matches none of anyOf") end
      if name == "oneOf" and matched ~= 1 then
        report(ctx, path, format("matches %d of oneOf, expected exactly 1", matched))
      end
    end
  end
  local negated = rawget(schema, "not")
  if negated ~= nil and passes(negated, value, path, spath .. "/not", ctx, depth + 1) then
    report(ctx, path, "matches the schema in not")
  end
  local condition = rawget(schema, "if")
  if condition ~= nil then
    local holds = passes(condition, value, path, spath .. "/if", ctx, depth + 1)
    local branch = holds and "then" or "else"
    local chosen = rawget(schema, branch)
    if chosen ~= nil then check(chosen, value, path, spath .. "/" .. branch, ctx, depth + 1) end
  end
end

check = function(schema, value, path, spath, ctx, depth)
  if depth > MAX_DEPTH then fail("nesting deeper than " .. MAX_DEPTH .. " levels") end
  if schema == true then return end
  if schema == false then return report(ctx, path, "no value is allowed here") end
  if type(schema) ~= "table" then schema_fail(spath, "a schema must be an object or a boolean") end
  for name in next, UNSUPPORTED do
    if rawget(schema, name) ~= nil then
      schema_fail(spath, "the keyword " .. name .. " is not supported")
    end
  end
  local ref = rawget(schema, "$ref")
  if ref ~= nil then check(resolve_ref(ref, ctx, spath), value, path, ref, ctx, depth + 1) end

  local kind = json_type(value)
  if kind == nil then return report(ctx, path, "a " .. type(value) .. " is not a JSON value") end
  local expected = rawget(schema, "type")
  if expected ~= nil then
    local names = type(expected) == "string" and { expected } or expected
    if type(names) ~= "table" then schema_fail(spath, "type must be a string or an array") end
    local ok = false
    for _, name in ipairs(names) do
      if not TYPES[name] then schema_fail(spath, "unknown type " .. tostring(name)) end
      ok = ok or has_type(value, kind, name)
    end
    if not ok then
      local shown = kind == "number" and math_type(value) or kind
      if kind == "empty" then shown = "an empty table" end
      return report(ctx, path, "expected " .. concat(names, " or ") .. ", got " .. shown)
    end
  end
  if kind == "empty" and expected ~= nil then -- the schema's type says which one it is
    local as_object, as_array = false, false
    for _, name in ipairs(type(expected) == "string" and { expected } or expected) do
      as_object, as_array = as_object or name == "object", as_array or name == "array"
    end
    if as_object ~= as_array then kind = as_object and "object" or "array" end
  end
  local enum = rawget(schema, "enum")
  if enum ~= nil then
    if not is_schema_array(enum) then schema_fail(spath, "enum must be an array") end
    local found = false
    for _, option in ipairs(enum) do
      if json_equal(value, option, 0) then found = true break end
    end
    if not found then report(ctx, path, "not one of the values in enum") end
  end
  local const = rawget(schema, "const")
  if const ~= nil and not json_equal(value, const, 0) then
    report(ctx, path, "not the value of const")
  end

  if kind == "number" then
    local function bound(name, broken, text)
      local limit = number_keyword(schema, name, spath)
      if limit and broken(limit) then report(ctx, path, format(text, value, limit)) end
    end
    bound("minimum", function(limit) return value < limit end, "%s is less than the minimum %s")
    bound("maximum", function(limit) return value > limit end, "%s is more than the maximum %s")
    bound("exclusiveMinimum", function(limit) return value <= limit end, "%s is not more than %s")
    bound("exclusiveMaximum", function(limit) return value >= limit end, "%s is not less than %s")
    local step = number_keyword(schema, "multipleOf", spath)
    if step then
      if step <= 0 then schema_fail(spath, "multipleOf must be more than 0") end
      local q = value / step
      if q ~= q or q % 1 ~= 0 then
        report(ctx, path, format("%s is not a multiple of %s", value, step))
      end
    end
  elseif kind == "string" then
    local length = utf8_len(value) or #value
    check_count(ctx, path, length, schema, spath, "minLength", "maxLength", "characters")
  end
  if kind == "object" or kind == "empty" then
    check_object(schema, value, path, spath, ctx, depth)
  end
  if kind == "array" or kind == "empty" then
    check_array(schema, value, path, spath, ctx, depth)
  end
  check_combinators(schema, value, path, spath, ctx, depth)
end

local function invalid(fname, msg)
  return false, new_error("INVALID", "json." .. fname .. ": " .. msg)
end

local function validate(fname, schema, value)
  if type(schema) == "string" then
    local decoded, problem = try_decode(schema)
    if problem then return invalid(fname, "the schema is not JSON: " .. problem) end
    schema = decoded
  end
  if type(schema) ~= "table" and type(schema) ~= "boolean" then
    return invalid(fname, "the schema must be a table, a boolean or JSON text, got "
      .. type(schema))
  end
  -- Only what encode can write is JSON: no functions, cycles, sparse arrays, NaN...
  local encodable, problem = pcall(encode_value, value, {}, {}, 1)
  if not encodable then
    if type(problem) == "table" and type(problem.msg) == "string" then
      return invalid(fname, "the value is not JSON: " .. problem.msg)
    end
    error(problem, 0)
  end
  local ctx = { root = schema, errors = {} }
  local ok, err = pcall(check, schema, value, "", "", ctx, 0)
  if not ok then
    if type(err) == "table" and type(err.schema) == "string" then
      return invalid(fname, "invalid schema " .. err.schema)
    end
    if type(err) == "table" and type(err.msg) == "string" then return invalid(fname, err.msg) end
    error(err, 0)
  end
  if #ctx.errors > 0 then
    return invalid(fname, "the value does not match the schema: " .. concat(ctx.errors, "; "))
  end
  return true
end

function M.validate(schema, data)
  if data == nil then return invalid("validate", "data is required") end
  return validate("validate", schema, data)
end

function M.validate_string(schema, text)
  if type(text) ~= "string" then
    return invalid("validate_string", "expected JSON text, got " .. type(text))
  end
  local value, problem = try_decode(text)
  if problem then return invalid("validate_string", "the text is not JSON: " .. problem) end
  return validate("validate_string", schema, value == nil and null or value)
end

return M
