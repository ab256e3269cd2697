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
    out[#out + 1] = raw_getmetatable(t) == OBJECT_MT and "{}" or "[]"
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
  if v == nil or v == null then
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

local function decode_string(s, pos)
  local parts, n = {}, 0
  local i = pos + 1
  while true do
    local j = find(s, '[\0-\31"\\]', i)
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

return M
