-- msgpack: the value codec for everything that crosses between Lua processes and between Lua
-- and TypeScript (src/codec/wire.ts is the other end; both must keep to these rules).
--
-- The chunk returns a constructor: `local codec = new(options)`, options optional:
--   encode_ext(value) -> ext_type, payload | nil   offered every table that has a metatable and
--                                                  every userdata; nil means "not an ext"
--   decode_ext(ext_type, payload) -> value          called for every ext on decode
--   max_depth = 64                                  nesting limit for encode and decode
-- codec.encode(value) -> string
-- codec.encode_values(n, ...) -> string            the n values as one array, nils kept
-- codec.decode(s) -> value
-- codec.decode_values(s) -> n, v1, ..., vn          inverse of encode_values
-- Errors are raised (never returned), prefixed "msgpack: ", blaming the caller of the codec.
--
-- Lua -> msgpack
--   nil -> nil; booleans -> bool.
--   Integers (math.type "integer") -> the smallest int: positive fixint, uint8/16/32 for
--   0..2^32-1, negative fixint, int8/16/32 down to -2^31, and int64 for everything else (the
--   9-byte class is always int64, as msgpackr writes it: every Lua integer fits).
--   Floats -> always float64, so 1.0 stays a float through Lua -> Lua; NaN, -0.0, +-inf kept.
--   Strings: valid UTF-8 (utf8.len: strict, no surrogates or overlong forms) -> str, any other
--   bytes -> bin.
--   Tables: a table with a metatable (or a userdata) for which encode_ext returns a type -> ext
--   (fixext 1/2/4/8/16, else ext 8/16/32; type -128..127, payload a string). Otherwise a table
--   whose keys are exactly 1..n (n >= 1) -> array; anything else -> map, including the empty
--   table (an empty map) and sequences with holes ({1, nil, 3} is the map {[1]=1, [3]=3}).
--   Tables are read raw (next/rawlen; no __pairs, __len, __index). Map keys must be strings,
--   numbers or booleans. Map entries come in `next` order, which for string keys differs
--   between runs, so the bytes of a multi-key map are not canonical (its value is).
--   Functions, threads, userdata that encode_ext declines, cycles (a table inside itself) and
--   nesting deeper than max_depth are errors naming the path, e.g.
--   "msgpack: cannot encode a function (at key 'handlers.callback')".
--
-- msgpack -> Lua
--   nil, bool; every int -> integer (uint64 above math.maxinteger wraps to the negative integer
--   with the same 64 bits, as string.unpack does: use math.ult to compare); float32 and float64
--   -> float; str and bin -> string (so any bytes survive Lua -> JS -> Lua); array -> a plain
--   sequence (no `n` field; nil elements leave holes); map -> table (nil values leave the key
--   out; a nil or NaN key is an error); ext -> decode_ext(type, payload), without it an error
--   "unknown ext type N". Truncated input, trailing bytes, the reserved byte 0xc1 and nesting
--   deeper than max_depth are errors naming the 1-based byte offset.

local type, next, rawlen, getmetatable, error, select, tostring =
  type, next, rawlen, getmetatable, error, select, tostring
local spack, sunpack, sbyte, schar, ssub = string.pack, string.unpack, string.byte, string.char,
  string.sub
local sformat, smatch = string.format, string.match
local concat, unpack = table.concat, table.unpack
local mtype = math.type
local utf8len = utf8.len

-- One-byte strings, so fixints, fixstr/array/map headers and constants cost no allocation.
local BYTE = {}
for i = 0, 255 do BYTE[i] = schar(i) end
local NIL, FALSE, TRUE = BYTE[0xc0], BYTE[0xc2], BYTE[0xc3]
local UINT8, INT8, STR8, BIN8 = BYTE[0xcc], BYTE[0xd0], BYTE[0xd9], BYTE[0xc4]

local FIXEXT = { [1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8 }
local FIXEXT_SIZE = { [0xd4] = 1, [0xd5] = 2, [0xd6] = 4, [0xd7] = 8, [0xd8] = 16 }
-- Width of the length field of str 8/16/32 and bin 8/16/32, and how to read a field that wide.
local SIZE_WIDTH = { [0xd9] = 1, [0xda] = 2, [0xdb] = 4, [0xc4] = 1, [0xc5] = 2, [0xc6] = 4 }
local WIDTH_FORMAT = { [1] = 'B', [2] = '>I2', [4] = '>I4' }
-- Numbers of a fixed width: their tag's format and size (for one-scalar decoding).
local SCALAR_FORMAT = {
  [0xcc] = 'B', [0xcd] = '>I2', [0xce] = '>I4', [0xcf] = '>I8',
  [0xd0] = '>i1', [0xd1] = '>i2', [0xd2] = '>i4', [0xd3] = '>i8', [0xca] = '>f', [0xcb] = '>d',
}
local SCALAR_SIZE = {
  [0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8,
  [0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8, [0xca] = 4, [0xcb] = 8,
}

-- 'a.b[2]["x y"]' for error messages.
local function key_text(k, first)
  if type(k) == 'string' then
    if smatch(k, '^[%a_][%w_]*$') then return first and k or '.' .. k end
    return '[' .. sformat('%q', k) .. ']'
  end
  return '[' .. tostring(k) .. ']'
end

-- The keys leading from the root to `leaf`, where ancestors[1..depth] are the tables on the
-- current path. Only those tables are tracked while encoding; the keys are found on error by
-- searching each parent. Identity is tested through a table key ({[child] = true}), which
-- compares raw, unlike `==` (no __eq).
local function path_of(ancestors, depth, leaf)
  if depth == 0 then return '' end
  local parts = {}
  for i = 1, depth do
    local parent, child = ancestors[i], i < depth and ancestors[i + 1] or leaf
    local wanted, found = { [child] = true }, '[?]'
    for k, v in next, parent do
      if wanted[v] then
        found = key_text(k, i == 1)
        break
      end
    end
    parts[i] = found
  end
  return " (at key '" .. concat(parts) .. "')"
end

return function(options)
  if options ~= nil and type(options) ~= 'table' then
    error('msgpack: options must be a table or nil', 2)
  end
  options = options or {}
  local encode_ext, decode_ext = options.encode_ext, options.decode_ext
  local max_depth = options.max_depth or 64
  if mtype(max_depth) ~= 'integer' or max_depth < 1 then
    error('msgpack: max_depth must be a positive integer', 2)
  end

  -- Error levels: enc/dec recurse once per nesting level, so a failure at depth d sits d + 1
  -- frames above the public function, and level d + 3 names the codec's caller.

  -- Reached when a table would exceed max_depth: either a cycle or real depth. Checking for
  -- cycles only here keeps the common path free of a "seen" set.
  local function too_deep(v, depth, ancestors)
    local seen = {}
    for i = 1, depth do
      local t = ancestors[i]
      if seen[t] then
        error('msgpack: cannot encode a table that contains itself' ..
          path_of(ancestors, i - 1, t), depth + 4)
      end
      seen[t] = true
    end
    if seen[v] then
      error('msgpack: cannot encode a table that contains itself' ..
        path_of(ancestors, depth, v), depth + 4)
    end
    error(sformat('msgpack: cannot encode a value nested deeper than max_depth (%d)%s',
      max_depth, path_of(ancestors, depth, v)), depth + 4)
  end

  local function ext_parts(buf, n, et, payload, depth)
    if mtype(et) ~= 'integer' or et < -128 or et > 127 or type(payload) ~= 'string' then
      error('msgpack: encode_ext must return an integer ext type in -128..127 and a string payload',
        depth + 4)
    end
    local size = #payload
    local fix = FIXEXT[size]
    if fix then
      buf[n + 1] = spack('>Bi1', fix, et)
    elseif size < 0x100 then
      buf[n + 1] = spack('>BBi1', 0xc7, size, et)
    elseif size < 0x10000 then
      buf[n + 1] = spack('>BI2i1', 0xc8, size, et)
    else
      buf[n + 1] = spack('>BI4i1', 0xc9, size, et)
    end
    buf[n + 2] = payload
    return n + 2
  end

  -- Appends the encoding of v to buf[n + 1 ...] and returns the new n. ancestors[i] is the
  -- table at nesting level i on the current path (for error messages; cleared on the way out).
  -- Headers of up to two bytes are one-byte strings from BYTE: no allocation, no pack format.
  local function enc(v, buf, n, depth, ancestors)
    local tv = type(v)
    if tv == 'number' then
      if mtype(v) == 'integer' then
        if v >= 0 then
          if v < 0x80 then
            buf[n + 1] = BYTE[v]
          elseif v < 0x100 then
            buf[n + 1], buf[n + 2] = UINT8, BYTE[v]
            return n + 2
          elseif v < 0x10000 then
            buf[n + 1] = spack('>BI2', 0xcd, v)
          elseif v < 0x100000000 then
            buf[n + 1] = spack('>BI4', 0xce, v)
          else
            buf[n + 1] = spack('>Bi8', 0xd3, v)
          end
        elseif v >= -0x20 then
          buf[n + 1] = BYTE[v + 0x100]
        elseif v >= -0x80 then
          buf[n + 1], buf[n + 2] = INT8, BYTE[v + 0x100]
          return n + 2
        elseif v >= -0x8000 then
          buf[n + 1] = spack('>Bi2', 0xd1, v)
        elseif v >= -0x80000000 then
          buf[n + 1] = spack('>Bi4', 0xd2, v)
        else
          buf[n + 1] = spack('>Bi8', 0xd3, v)
        end
      else
        buf[n + 1] = spack('>Bd', 0xcb, v)
      end
      return n + 1
    elseif tv == 'string' then
      local len = #v
      if utf8len(v) then
        if len < 0x20 then
          buf[n + 1], buf[n + 2] = BYTE[0xa0 + len], v
          return n + 2
        elseif len < 0x100 then
          buf[n + 1], buf[n + 2], buf[n + 3] = STR8, BYTE[len], v
          return n + 3
        elseif len < 0x10000 then
          buf[n + 1] = spack('>BI2', 0xda, len)
        else
          buf[n + 1] = spack('>BI4', 0xdb, len)
        end
      elseif len < 0x100 then
        buf[n + 1], buf[n + 2], buf[n + 3] = BIN8, BYTE[len], v
        return n + 3
      elseif len < 0x10000 then
        buf[n + 1] = spack('>BI2', 0xc5, len)
      else
        buf[n + 1] = spack('>BI4', 0xc6, len)
      end
      buf[n + 2] = v
      return n + 2
    elseif tv == 'table' then
      if encode_ext and getmetatable(v) ~= nil then
        local et, payload = encode_ext(v)
        if et ~= nil then
          n = ext_parts(buf, n, et, payload, depth) -- not a tail call: keeps the error level
          return n
        end
      end
      if depth >= max_depth then too_deep(v, depth, ancestors) end
      local inner = depth + 1
      ancestors[inner] = v
      local len = rawlen(v)
      if len > 0 then
        -- Likely an array: it is one when every key lies in 1..len and there are len of them.
        local count = 0
        for k in next, v do
          if mtype(k) ~= 'integer' or k < 1 or k > len then
            count = -1
            break
          end
          count = count + 1
        end
        if count == len then
          if len < 0x10 then
            buf[n + 1] = BYTE[0x90 + len]
          elseif len < 0x10000 then
            buf[n + 1] = spack('>BI2', 0xdc, len)
          else
            buf[n + 1] = spack('>BI4', 0xdd, len)
          end
          n = n + 1
          for i = 1, len do n = enc(v[i], buf, n, inner, ancestors) end
          ancestors[inner] = nil
          return n
        end
      end
      -- A map: one pass writes the entries, the header goes in front once their number is known.
      local head, count = n + 1, 0
      n = head
      for k, val in next, v do
        local tk = type(k)
        if tk == 'string' and #k < 0x20 and utf8len(k) then -- the usual key, written inline
          buf[n + 1], buf[n + 2] = BYTE[0xa0 + #k], k
          n = n + 2
        elseif tk == 'string' or tk == 'number' or tk == 'boolean' then
          n = enc(k, buf, n, inner, ancestors)
        else
          error('msgpack: cannot encode a map key of type ' .. tk .. path_of(ancestors, depth, v),
            depth + 3)
        end
        n = enc(val, buf, n, inner, ancestors)
        count = count + 1
      end
      if count < 0x10 then
        buf[head] = BYTE[0x80 + count]
      elseif count < 0x10000 then
        buf[head] = spack('>BI2', 0xde, count)
      else
        buf[head] = spack('>BI4', 0xdf, count)
      end
      ancestors[inner] = nil
      return n
    elseif tv == 'boolean' then
      buf[n + 1] = v and TRUE or FALSE
      return n + 1
    elseif tv == 'nil' then
      buf[n + 1] = NIL
      return n + 1
    end
    if tv == 'userdata' and encode_ext then
      local et, payload = encode_ext(v)
      if et ~= nil then
        n = ext_parts(buf, n, et, payload, depth)
        return n
      end
    end
    error('msgpack: cannot encode a ' .. tv .. path_of(ancestors, depth, v), depth + 3)
  end

  local function truncated(pos, depth)
    error('msgpack: truncated input at byte ' .. pos, depth + 4)
  end

  local function bad_key(k, pos, depth)
    error('msgpack: map key is ' .. (k == nil and 'nil' or 'NaN') .. ' in the map at byte ' .. pos,
      depth + 4)
  end

  -- Decodes the value at s[pos]; returns it and the position after it.
  local function dec(s, pos, len, depth)
    local tag = sbyte(s, pos)
    if tag == nil then truncated(pos, depth) end
    if tag < 0x80 then return tag, pos + 1 end
    if tag >= 0xe0 then return tag - 0x100, pos + 1 end
    local count, is_map, first
    if tag < 0x90 then
      count, is_map, first = tag - 0x80, true, pos + 1
    elseif tag < 0xa0 then
      count, is_map, first = tag - 0x90, false, pos + 1
    elseif tag < 0xc0 then
      local last = pos + tag - 0xa0
      if last > len then truncated(pos, depth) end
      return ssub(s, pos + 1, last), last + 1
    elseif tag == 0xc0 then
      return nil, pos + 1
    elseif tag == 0xc2 then
      return false, pos + 1
    elseif tag == 0xc3 then
      return true, pos + 1
    elseif tag == 0xcb then
      if pos + 8 > len then truncated(pos, depth) end
      return sunpack('>d', s, pos + 1)
    elseif tag == 0xcc then
      if pos + 1 > len then truncated(pos, depth) end
      return sbyte(s, pos + 1), pos + 2
    elseif tag == 0xcd then
      if pos + 2 > len then truncated(pos, depth) end
      return sunpack('>I2', s, pos + 1)
    elseif tag == 0xce then
      if pos + 4 > len then truncated(pos, depth) end
      return sunpack('>I4', s, pos + 1)
    elseif tag == 0xcf then
      if pos + 8 > len then truncated(pos, depth) end
      return sunpack('>I8', s, pos + 1) -- wraps above math.maxinteger
    elseif tag == 0xd0 then
      if pos + 1 > len then truncated(pos, depth) end
      return sunpack('>i1', s, pos + 1)
    elseif tag == 0xd1 then
      if pos + 2 > len then truncated(pos, depth) end
      return sunpack('>i2', s, pos + 1)
    elseif tag == 0xd2 then
      if pos + 4 > len then truncated(pos, depth) end
      return sunpack('>i4', s, pos + 1)
    elseif tag == 0xd3 then
      if pos + 8 > len then truncated(pos, depth) end
      return sunpack('>i8', s, pos + 1)
    elseif tag == 0xca then
      if pos + 4 > len then truncated(pos, depth) end
      return sunpack('>f', s, pos + 1)
    elseif SIZE_WIDTH[tag] then -- str 8/16/32, bin 8/16/32
      local width = SIZE_WIDTH[tag]
      if pos + width > len then truncated(pos, depth) end
      local size = sunpack(WIDTH_FORMAT[width], s, pos + 1)
      local start = pos + 1 + width
      local last = start + size - 1
      if last > len then truncated(pos, depth) end
      return ssub(s, start, last), last + 1
    elseif tag == 0xdc or tag == 0xde then
      if pos + 2 > len then truncated(pos, depth) end
      count, is_map, first = sunpack('>I2', s, pos + 1), tag == 0xde, pos + 3
    elseif tag == 0xdd or tag == 0xdf then
      if pos + 4 > len then truncated(pos, depth) end
      count, is_map, first = sunpack('>I4', s, pos + 1), tag == 0xdf, pos + 5
    elseif tag == 0xc1 then
      error('msgpack: invalid byte 0xc1 at byte ' .. pos, depth + 3)
    else -- ext: fixext d4..d8, ext 8/16/32 c7..c9
      local size, at = FIXEXT_SIZE[tag], pos + 1
      if size == nil then
        local width = tag == 0xc7 and 1 or tag == 0xc8 and 2 or 4
        if pos + width > len then truncated(pos, depth) end
        size = sunpack(WIDTH_FORMAT[width], s, at)
        at = at + width
      end
      if at + size > len then truncated(pos, depth) end
      local et = sunpack('>i1', s, at)
      if not decode_ext then
        error('msgpack: unknown ext type ' .. et .. ' at byte ' .. pos, depth + 3)
      end
      return (decode_ext(et, ssub(s, at + 1, at + size))), at + size + 1
    end
    -- Containers. Every element takes at least one byte, so a count beyond what is left is
    -- truncated input (and cannot make us allocate for it).
    if depth >= max_depth then
      error(sformat('msgpack: input nested deeper than max_depth (%d) at byte %d', max_depth, pos),
        depth + 3)
    end
    if (is_map and count * 2 or count) > len - first + 1 then truncated(pos, depth) end
    local inner, p = depth + 1, first
    if count <= 4 then
      -- Small tables are built by one constructor, sized once: growing {} costs more.
      if count == 0 then return {}, p end
      local a1, a2, a3, a4, b1, b2, b3, b4
      a1, p = dec(s, p, len, inner)
      if is_map then b1, p = dec(s, p, len, inner) end
      if count >= 2 then
        a2, p = dec(s, p, len, inner)
        if is_map then b2, p = dec(s, p, len, inner) end
        if count >= 3 then
          a3, p = dec(s, p, len, inner)
          if is_map then b3, p = dec(s, p, len, inner) end
          if count == 4 then
            a4, p = dec(s, p, len, inner)
            if is_map then b4, p = dec(s, p, len, inner) end
          end
        end
      end
      if not is_map then return { a1, a2, a3, a4 }, p end
      if a1 == nil or a1 ~= a1 then bad_key(a1, pos, depth) end
      if count == 1 then return { [a1] = b1 }, p end
      if a2 == nil or a2 ~= a2 then bad_key(a2, pos, depth) end
      if count == 2 then return { [a1] = b1, [a2] = b2 }, p end
      if a3 == nil or a3 ~= a3 then bad_key(a3, pos, depth) end
      if count == 3 then return { [a1] = b1, [a2] = b2, [a3] = b3 }, p end
      if a4 == nil or a4 ~= a4 then bad_key(a4, pos, depth) end
      return { [a1] = b1, [a2] = b2, [a3] = b3, [a4] = b4 }, p
    end
    local t
    if is_map then
      -- Presized through nil fields (which insert nothing), so filling it does not rehash.
      if count <= 8 then
        t = { _1 = nil, _2 = nil, _3 = nil, _4 = nil, _5 = nil, _6 = nil, _7 = nil, _8 = nil }
      elseif count <= 16 then
        t = { _1 = nil, _2 = nil, _3 = nil, _4 = nil, _5 = nil, _6 = nil, _7 = nil, _8 = nil,
          _9 = nil, _10 = nil, _11 = nil, _12 = nil, _13 = nil, _14 = nil, _15 = nil, _16 = nil }
      else
        t = {}
      end
      for _ = 1, count do
        local k, v
        local kt = sbyte(s, p)
        if kt and kt >= 0xa0 and kt < 0xc0 then -- fixstr key: the usual case, read inline
          local last = p + kt - 0xa0
          if last > len then truncated(p, depth) end
          k, p = ssub(s, p + 1, last), last + 1
        else
          k, p = dec(s, p, len, inner)
          if k == nil or k ~= k then bad_key(k, pos, depth) end
        end
        v, p = dec(s, p, len, inner)
        t[k] = v
      end
    else
      if count <= 8 then
        t = { nil, nil, nil, nil, nil, nil, nil, nil }
      elseif count <= 16 then
        t = { nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil }
      else
        t = {}
      end
      for i = 1, count do
        local v
        v, p = dec(s, p, len, inner)
        t[i] = v
      end
    end
    return t, p
  end

  local codec = {}

  -- Part buffers and ancestor stacks are reused: growing a fresh table costs more than the
  -- encoding of a small value. A stack of free pairs, because encode_ext may re-enter encode;
  -- a call that raises simply does not give its pair back.
  local free_bufs, free_ancestors, free = {}, {}, 0
  local POOL_PARTS = 4096 -- larger buffers are left to the GC rather than kept

  local function acquire()
    if free == 0 then return {}, {} end
    local buf, ancestors = free_bufs[free], free_ancestors[free]
    free_bufs[free], free_ancestors[free] = nil, nil
    free = free - 1
    return buf, ancestors
  end

  local function finish(buf, n, ancestors)
    local s = concat(buf, '', 1, n)
    if n <= POOL_PARTS then
      for i = 1, n do buf[i] = nil end -- keep no strings alive
      free = free + 1
      free_bufs[free], free_ancestors[free] = buf, ancestors
    end
    return s
  end

  function codec.encode(value)
    local buf, ancestors = acquire()
    local n = enc(value, buf, 0, 0, ancestors)
    return finish(buf, n, ancestors)
  end

  -- One scalar is what most messages carry: encode it as a one-element array in one string,
  -- without the part buffer, and without the pcall callers need around the general encoder
  -- (a scalar never fails to encode). The bytes are the general encoder's.
  local ONE_FIXINT = {}
  for i = -0x20, 0x7f do ONE_FIXINT[i] = '\x91' .. BYTE[i % 0x100] end
  local ONE_NIL, ONE_TRUE, ONE_FALSE = '\x91\xc0', '\x91\xc3', '\x91\xc2'

  local function encode_integer(v)
    local fixint = ONE_FIXINT[v]
    if fixint ~= nil then return fixint end
    if v >= 0 then
      if v < 0x100 then return spack('>BBB', 0x91, 0xcc, v) end
      if v < 0x10000 then return spack('>BBI2', 0x91, 0xcd, v) end
      if v < 0x100000000 then return spack('>BBI4', 0x91, 0xce, v) end
    elseif v >= -0x80 then
      return spack('>BBi1', 0x91, 0xd0, v)
    elseif v >= -0x8000 then
      return spack('>BBi2', 0x91, 0xd1, v)
    elseif v >= -0x80000000 then
      return spack('>BBi4', 0x91, 0xd2, v)
    end
    return spack('>BBi8', 0x91, 0xd3, v)
  end

  local function encode_one(v)
    local t = type(v)
    if t == 'number' then
      if mtype(v) == 'integer' then return encode_integer(v) end
      return spack('>BBd', 0x91, 0xcb, v)
    elseif t == 'string' then
      local len = #v
      if utf8len(v) ~= nil then
        if len < 0x20 then return '\x91' .. BYTE[0xa0 + len] .. v end
        if len < 0x100 then return '\x91\xd9' .. BYTE[len] .. v end
        if len < 0x10000 then return spack('>BBI2', 0x91, 0xda, len) .. v end
        return spack('>BBI4', 0x91, 0xdb, len) .. v
      end
      if len < 0x100 then return '\x91\xc4' .. BYTE[len] .. v end
      if len < 0x10000 then return spack('>BBI2', 0x91, 0xc5, len) .. v end
      return spack('>BBI4', 0x91, 0xc6, len) .. v
    elseif t == 'nil' then
      return ONE_NIL
    elseif t == 'boolean' then
      return v and ONE_TRUE or ONE_FALSE
    end
    return nil
  end

  --- The encoding of one value as a one-element array when it is a scalar (nil, boolean,
  --- number, string), else nil: callers that would otherwise need pcall around encode_values
  --- try this first.
  codec.encode_one = encode_one

  function codec.encode_values(count, ...)
    if count == 1 then
      local fast = encode_one((...))
      if fast ~= nil then return fast end
    end
    if mtype(count) ~= 'integer' or count < 0 then
      error('msgpack: encode_values expects a non-negative integer count first', 2)
    end
    local buf, ancestors = acquire()
    if count < 0x10 then
      buf[1] = BYTE[0x90 + count]
    elseif count < 0x10000 then
      buf[1] = spack('>BI2', 0xdc, count)
    else
      buf[1] = spack('>BI4', 0xdd, count)
    end
    local n = 1
    if count <= 8 then
      for i = 1, count do n = enc((select(i, ...)), buf, n, 0, ancestors) end
    else
      local args = { ... }
      for i = 1, count do n = enc(args[i], buf, n, 0, ancestors) end
    end
    return finish(buf, n, ancestors)
  end

  local function check_input(s)
    if type(s) ~= 'string' then
      error('msgpack: cannot decode a ' .. type(s) .. ', expected a string', 3)
    end
    return #s
  end

  function codec.decode(s)
    local len = check_input(s)
    local v, p = dec(s, 1, len, 0)
    if p <= len then error('msgpack: trailing bytes after the value at byte ' .. p, 2) end
    return v
  end

  function codec.decode_values(s)
    local len = check_input(s)
    local tag, b = sbyte(s, 1, 2)
    -- One scalar (the fast path of encode_values, and what msgpackr writes for one): read
    -- without building the array, when the value fills the input exactly.
    if tag == 0x91 then
      if len == 2 then
        if b < 0x80 then return 1, b end
        if b >= 0xe0 then return 1, b - 0x100 end
        if b == 0xc0 then return 1, nil end
        if b == 0xc3 then return 1, true end
        if b == 0xc2 then return 1, false end
      elseif b ~= nil then
        if b >= 0xa0 and b <= 0xbf then
          if len == 2 + b - 0xa0 then return 1, ssub(s, 3) end
        elseif b == 0xd9 then
          if len > 2 and len == 3 + sbyte(s, 3) then return 1, ssub(s, 4) end
        else
          local format = SCALAR_FORMAT[b]
          if format ~= nil and len == 2 + SCALAR_SIZE[b] then return 1, (sunpack(format, s, 3)) end
        end
      end
    end
    if tag == nil or not (tag >= 0x90 and tag <= 0x9f or tag == 0xdc or tag == 0xdd) then
      error('msgpack: decode_values expects an array', 2)
    end
    local t, p = dec(s, 1, len, 0)
    if p <= len then error('msgpack: trailing bytes after the value at byte ' .. p, 2) end
    local count = tag <= 0x9f and tag - 0x90 or sunpack(tag == 0xdc and '>I2' or '>I4', s, 2)
    return count, unpack(t, 1, count)
  end

  return codec
end
