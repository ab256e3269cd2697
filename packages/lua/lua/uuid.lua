-- uuid: the built-in `uuid` module (RFC 9562).
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.random_bytes(n) -> string of exactly n random bytes
--   deps.now_ms()        -> current time as integer Unix milliseconds
-- and returning the module table M. Randomness and time come only from deps, so a workflow can
-- substitute deterministic sources.
--
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
-- M.is_valid(s) -> boolean
--   true when s is a string in the canonical 8-4-4-4-12 hex form (36 characters, either case);
--   any version and variant are accepted (including the nil and max UUIDs). Non-strings give
--   false.
--
-- Output is lowercase: xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx (M = version, N in 8, 9, a, b).
-- Raises if deps.random_bytes returns anything but a string of the requested length, or if
-- deps.now_ms returns anything but an integral number in 0 .. 2^48-1.

local deps = ...
if type(deps) ~= "table" or type(deps.random_bytes) ~= "function" or type(deps.now_ms) ~= "function"
then
  error("uuid.lua: expected deps with random_bytes and now_ms (functions)", 2)
end

local random_bytes, now_ms = deps.random_bytes, deps.now_ms

local byte, format, find = string.byte, string.format, string.find
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

local CANONICAL = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

function M.is_valid(s)
  return type(s) == "string" and find(s, CANONICAL) ~= nil
end

return M
