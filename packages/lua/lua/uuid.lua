-- uuid: the built-in `uuid` module (RFC 9562).
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.random_bytes(n)          -> string of exactly n random bytes
--   deps.now_ms()                 -> current time as integer Unix milliseconds
--   deps.new_error(kind, message) -> error value returned to Lua callers (kind: "INVALID")
-- and returning the module table M. Randomness and time come only from deps, so a workflow can
-- substitute deterministic sources.
--
-- Generators return one string each:
-- M.v1() -> string
--   Time-based UUID (RFC 9562 §5.1): the count of 100 ns intervals since 1582-10-15 from
--   deps.now_ms(), its sub-millisecond part random; a random 14-bit clock sequence and a
--   random 48-bit node with its multicast bit set (§6.10: no MAC address is read), all drawn
--   for each UUID. Keeping no state between calls means a UUID depends only on the clock and
--   randomness it is given (a workflow's replay gives the same one), and 74 random bits keep
--   two UUIDs of one millisecond apart as surely as v4's bits do.
-- M.v3(namespace, name) / M.v5(namespace, name) -> string | nil, err
--   Name-based UUIDs (§5.3, §5.5): MD5 or SHA-1 of the namespace's 16 bytes followed by name,
--   so the same namespace and name always give the same UUID. err (INVALID) when namespace is
--   not a UUID string (in a form the inspection functions read) or name is not a string.
-- M.v4() -> string
--   Random UUID: 122 random bits, version 4, variant 10.
-- M.v7() -> string
--   Time-ordered UUID: the 48-bit Unix millisecond timestamp, version 7, the 12-bit rand_a
--   field used as a counter (RFC 9562 §6.2, method 1, "fixed bit-length dedicated counter"),
--   variant 10, then 62 random bits (rand_b) drawn fresh for every UUID.
--   The counter is re-seeded with 11 random bits (its top bit 0, leaving at least 2048
--   increments) whenever the millisecond changes, and incremented by one for each further UUID
--   in the same millisecond. UUIDs from one module instance are strictly increasing (as
--   strings and as 128-bit numbers): if the clock stands still or goes backwards, the last
--   timestamp is reused and the counter incremented; if the counter would pass 0xFFF, the
--   timestamp is advanced by 1 ms ahead of the clock (RFC 9562 §6.2 allows this) and the
--   counter re-seeded. The timestamp therefore equals deps.now_ms() except after more than
--   ~2048 UUIDs in one millisecond or after the clock stepped back.
--
-- Inspection (each takes a UUID string in either case, written 8-4-4-4-12, as 32 hex digits,
-- as urn:uuid:8-4-4-4-12 or as {8-4-4-4-12}, the forms Wippy's uuid module reads; anything
-- else gives nil, err with kind INVALID naming the function):
-- M.is_valid(s) -> boolean
--   true when s is a string in the canonical 8-4-4-4-12 hex form (36 characters, either case);
--   any version and variant are accepted (including the nil and max UUIDs). Non-strings give
--   false.
-- M.validate(s) -> boolean
--   true when s is a UUID in any of the forms above.
-- M.version(s) -> integer (the version nibble, 0..15)
-- M.variant(s) -> "NCS" | "RFC4122" | "Microsoft" | "Future" (the top bits of byte 9)
-- M.parse(s) -> { version, variant, timestamp?, node? }
--   timestamp: whole Unix seconds, for versions 1, 6 and 7; node: the last 12 hex digits,
--   for version 1.
-- M.format(s, form?) -> string
--   form "standard" (the default: lowercase 8-4-4-4-12), "simple" (32 hex digits) or "urn"
--   ("urn:uuid:" .. standard).
--
-- Output is lowercase: xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx (M = version, N in 8, 9, a, b).
-- Raises if deps.random_bytes returns anything but a string of the requested length, or if
-- deps.now_ms returns anything but an integral number in 0 .. 2^48-1.

local deps = ...
if type(deps) ~= "table" or type(deps.random_bytes) ~= "function" or type(deps.now_ms) ~= "function"
  or type(deps.new_error) ~= "function"
then
  error("uuid.lua: expected deps with random_bytes, now_ms and new_error (functions)", 2)
end

local random_bytes, now_ms, new_error = deps.random_bytes, deps.now_ms, deps.new_error

local byte, char, format, find, gsub, lower, rep, sub = string.byte, string.char, string.format,
  string.find, string.gsub, string.lower, string.rep, string.sub
local pack, unpack = string.pack, string.unpack
local tointeger = math.tointeger

local M = {}

local FORMAT = "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x"
local MAX_MS = (1 << 48) - 1
local MAX_COUNTER = 0xFFF

local function random(n)
  local s = random_bytes(n)
  if type(s) ~= "string" or #s ~= n then
    error(format("uuid: deps.random_bytes(%d) returned %s", n,
      type(s) == "string" and (#s .. " bytes") or ("a " .. type(s))), 3)
  end
  return s
end

local function clock()
  local raw = now_ms()
  local ms = type(raw) == "number" and tointeger(raw) or nil
  if not ms or ms < 0 or ms > MAX_MS then
    error("uuid: deps.now_ms() returned " .. tostring(raw)
      .. ", expected integer milliseconds in 0 .. 2^48-1", 3)
  end
  return ms
end

function M.v4()
  local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 =
    byte(random(16), 1, 16)
  b7 = (b7 & 0x0F) | 0x40 -- version 4
  b9 = (b9 & 0x3F) | 0x80 -- variant 10
  return format(FORMAT, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
end

-- v7 state of this module instance: the timestamp and counter of the last UUID generated.
local last_ms = -1
local counter = 0

function M.v7()
  local ms = clock()
  -- 8 bytes for rand_b (62 bits used) and 2 bytes for a fresh counter seed
  local r1, r2, r3, r4, r5, r6, r7, r8, s1, s2 = byte(random(10), 1, 10)
  local seed = ((s1 << 8) | s2) & 0x7FF -- 11 random bits; the counter's top bit starts at 0
  if ms > last_ms then
    counter = seed
  elseif counter < MAX_COUNTER then
    ms = last_ms
    counter = counter + 1
  else
    ms = last_ms + 1
    if ms > MAX_MS then
      error("uuid: v7 timestamp overflow", 2)
    end
    counter = seed
  end
  last_ms = ms
  return format(FORMAT,
    (ms >> 40) & 0xFF, (ms >> 32) & 0xFF, (ms >> 24) & 0xFF, (ms >> 16) & 0xFF,
    (ms >> 8) & 0xFF, ms & 0xFF,
    0x70 | (counter >> 8), counter & 0xFF, -- version 7, rand_a = counter
    (r1 & 0x3F) | 0x80, r2, -- variant 10, rand_b
    r3, r4, r5, r6, r7, r8)
end

-- v1 ---------------------------------------------------------------------------------------

-- 100 ns intervals from the start of the Gregorian calendar (1582-10-15) to 1970-01-01.
local GREGORIAN_OFFSET = 0x01B21DD213814000
local TICKS_PER_MS = 10000

function M.v1()
  local ms = clock()
  local t1, t2, s1, s2, n1, n2, n3, n4, n5, n6 = byte(random(10), 1, 10)
  local t = ms * TICKS_PER_MS + ((t1 << 8) | t2) % TICKS_PER_MS + GREGORIAN_OFFSET
  return format(FORMAT,
    (t >> 24) & 0xFF, (t >> 16) & 0xFF, (t >> 8) & 0xFF, t & 0xFF, -- time_low
    (t >> 40) & 0xFF, (t >> 32) & 0xFF, -- time_mid
    0x10 | ((t >> 56) & 0x0F), (t >> 48) & 0xFF, -- version 1, time_high
    0x80 | (s1 & 0x3F), s2, -- variant 10, clock sequence
    n1 | 0x01, n2, n3, n4, n5, n6) -- node, multicast bit set: not a real MAC address
end

-- MD5 (RFC 1321) and SHA-1 (RFC 3174) of a byte string, for v3 and v5 -----------------------

local MASK32 = 0xFFFFFFFF

local function rotl(x, n)
  return ((x << n) | (x >> (32 - n))) & MASK32
end

local MD5_SHIFT = {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
}
local MD5_K = {}
for i = 1, 64 do
  MD5_K[i] = tointeger(math.floor(math.abs(math.sin(i)) * 2 ^ 32)) -- RFC 1321 §3.4
end

-- Message padding shared by both: 0x80, zeros, then the bit length as 8 bytes.
local function padded(message, length_format)
  return message .. "\128" .. rep("\0", (55 - #message) % 64) .. pack(length_format, #message * 8)
end

local function md5(message)
  local text = padded(message, "<I8")
  local a0, b0, c0, d0 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
  local m = {}
  for chunk = 1, #text, 64 do
    for i = 0, 15 do m[i] = unpack("<I4", text, chunk + i * 4) end
    local a, b, c, d = a0, b0, c0, d0
    for i = 0, 63 do
      local f, g
      if i < 16 then
        f, g = (b & c) | (~b & d), i
      elseif i < 32 then
        f, g = (d & b) | (~d & c), (5 * i + 1) % 16
      elseif i < 48 then
        f, g = b ~ c ~ d, (3 * i + 5) % 16
      else
        f, g = c ~ (b | ~d), (7 * i) % 16
      end
      f = (f + a + MD5_K[i + 1] + m[g]) & MASK32
      a, d, c = d, c, b
      b = (b + rotl(f, MD5_SHIFT[i + 1])) & MASK32
    end
    a0, b0 = (a0 + a) & MASK32, (b0 + b) & MASK32
    c0, d0 = (c0 + c) & MASK32, (d0 + d) & MASK32
  end
  return pack("<I4I4I4I4", a0, b0, c0, d0)
end

local function sha1(message)
  local text = padded(message, ">I8")
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local w = {}
  for chunk = 1, #text, 64 do
    for i = 0, 15 do w[i] = unpack(">I4", text, chunk + i * 4) end
    for i = 16, 79 do w[i] = rotl(w[i - 3] ~ w[i - 8] ~ w[i - 14] ~ w[i - 16], 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then
        f, k = (b & c) | (~b & d), 0x5A827999
      elseif i < 40 then
        f, k = b ~ c ~ d, 0x6ED9EBA1
      elseif i < 60 then
        f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
      else
        f, k = b ~ c ~ d, 0xCA62C1D6
      end
      a, b, c, d, e = (rotl(a, 5) + (f & MASK32) + e + k + w[i]) & MASK32, a, rotl(b, 30), c, d
    end
    h0, h1, h2 = (h0 + a) & MASK32, (h1 + b) & MASK32, (h2 + c) & MASK32
    h3, h4 = (h3 + d) & MASK32, (h4 + e) & MASK32
  end
  return pack(">I4I4I4I4I4", h0, h1, h2, h3, h4)
end

-- Inspection and name-based UUIDs ----------------------------------------------------------

local CANONICAL = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function is_valid(s)
  return type(s) == "string" and find(s, CANONICAL) ~= nil
end
M.is_valid = is_valid

-- The canonical lowercase form of a UUID in any accepted form, or nil.
local function normalize(s)
  if type(s) ~= "string" then return nil end
  local n = #s
  if n == 45 and lower(sub(s, 1, 9)) == "urn:uuid:" then
    s = sub(s, 10)
  elseif n == 38 and sub(s, 1, 1) == "{" and sub(s, 38) == "}" then
    s = sub(s, 2, 37)
  elseif n == 32 and find(s, "^%x+$") then
    s = sub(s, 1, 8) .. "-" .. sub(s, 9, 12) .. "-" .. sub(s, 13, 16) .. "-" .. sub(s, 17, 20)
      .. "-" .. sub(s, 21)
  end
  return is_valid(s) and lower(s) or nil
end

function M.validate(s)
  return normalize(s) ~= nil
end

local function invalid(message)
  return nil, new_error("INVALID", message)
end

local function describe(value)
  return type(value) == "string" and format("%q", value) or type(value)
end

-- The 16 bytes of a canonical UUID string, or nil.
local function bytes_of(s)
  s = normalize(s)
  if s == nil then return nil end
  return (gsub(gsub(s, "-", ""), "%x%x", function(h) return char(tonumber(h, 16)) end))
end

local function name_based(fname, version, hash, namespace, name)
  local ns = bytes_of(namespace)
  if ns == nil then
    return invalid("uuid." .. fname .. ": namespace must be a UUID string, got " .. describe(namespace))
  end
  if type(name) ~= "string" then
    return invalid("uuid." .. fname .. ": name must be a string, got " .. type(name))
  end
  local b = { byte(hash(ns .. name), 1, 16) }
  b[7] = (b[7] & 0x0F) | (version << 4)
  b[9] = (b[9] & 0x3F) | 0x80 -- variant 10
  return format(FORMAT, b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
    b[13], b[14], b[15], b[16])
end

function M.v3(namespace, name) return name_based("v3", 3, md5, namespace, name) end
function M.v5(namespace, name) return name_based("v5", 5, sha1, namespace, name) end

-- The checked, lowercased form of s for an inspection function, or nil, err.
local function canonical(fname, s)
  local id = normalize(s)
  if id then return id end
  return invalid("uuid." .. fname .. ": expected a UUID string (8-4-4-4-12 hex digits), got "
    .. describe(s))
end

local function variant_of(id)
  local b = tonumber(sub(id, 20, 20), 16)
  if b < 8 then return "NCS" end
  if b < 12 then return "RFC4122" end
  if b < 14 then return "Microsoft" end
  return "Future"
end

function M.version(s)
  local id, err = canonical("version", s)
  if not id then return nil, err end
  return tonumber(sub(id, 15, 15), 16)
end

function M.variant(s)
  local id, err = canonical("variant", s)
  if not id then return nil, err end
  return variant_of(id)
end

function M.parse(s)
  local id, err = canonical("parse", s)
  if not id then return nil, err end
  local version = tonumber(sub(id, 15, 15), 16)
  local info = { version = version, variant = variant_of(id) }
  local hex = gsub(id, "-", "")
  if version == 1 or version == 6 then
    local low, mid, high = tonumber(sub(hex, 1, 8), 16), tonumber(sub(hex, 9, 12), 16),
      tonumber(sub(hex, 14, 16), 16)
    local ticks = version == 1 and ((high << 48) | (mid << 32) | low)
      or ((low << 28) | (mid << 12) | high)
    info.timestamp = (ticks - GREGORIAN_OFFSET) // (TICKS_PER_MS * 1000)
    if version == 1 then info.node = sub(hex, 21, 32) end
  elseif version == 7 then
    info.timestamp = tonumber(sub(hex, 1, 12), 16) // 1000
  end
  return info
end

local FORMS = {
  standard = function(id) return id end,
  simple = function(id) return (gsub(id, "-", "")) end,
  urn = function(id) return "urn:uuid:" .. id end,
}

function M.format(s, form)
  local id, err = canonical("format", s)
  if not id then return nil, err end
  local render = FORMS[form == nil and "standard" or form]
  if render == nil then
    return invalid("uuid.format: unknown form " .. describe(form)
      .. " (expected \"standard\", \"simple\" or \"urn\")")
  end
  return render(id)
end

return M
