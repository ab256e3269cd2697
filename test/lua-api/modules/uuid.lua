-- uuid: generators, name-based UUIDs and inspection (docs/lua-api/uuid.md).
local t = require("t")
local uuid = require("uuid")
local time = require("time")

local V4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local V7 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-7%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function uuid_v4_and_v7_have_the_right_format_and_are_unique()
  local seen = {}
  for _, case in ipairs({ { "v4", uuid.v4, V4 }, { "v7", uuid.v7, V7 } }) do
    local name, make, pattern = case[1], case[2], case[3]
    for i = 1, 1000 do
      local id = make()
      t.match(id, pattern, "uuid." .. name .. "() #" .. i)
      t.eq(id, id:lower(), "uuid." .. name .. "() is lowercase")
      t.ok(not seen[id], "uuid." .. name .. "() #" .. i .. " (" .. id .. ") is new")
      seen[id] = true
    end
  end
end

local function uuid_v7_carries_the_current_time()
  local before = time.now():unix_nano() // 1000000
  local id = uuid.v7()
  local after = time.now():unix_nano() // 1000000
  local ms = tonumber(id:sub(1, 8) .. id:sub(10, 13), 16)
  t.between(ms, before - 1, after + 1, "milliseconds in the first 48 bits of " .. id)
  local earlier = uuid.v7()
  time.sleep("3ms")
  local later = uuid.v7()
  t.ok(earlier < later, "a v7 made later sorts later (" .. earlier .. " < " .. later .. ")")
end

local DNS = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
local V1 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-1%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function uuid_v1_is_time_based_and_unique()
  local seen = {}
  for i = 1, 1000 do
    local id = uuid.v1()
    t.match(id, V1, "uuid.v1() #" .. i)
    t.ok(not seen[id], "uuid.v1() #" .. i .. " (" .. id .. ") is new")
    seen[id] = true
  end
  local before = time.now():unix()
  local info = t.check("uuid.parse of a v1", uuid.parse(uuid.v1()))
  t.between(info.timestamp, before - 1, time.now():unix() + 1, "the v1 timestamp in seconds")
  t.match(info.node, "^%x+$", "the v1 node")
  t.eq(#info.node, 12, "the v1 node's length")
end

local function uuid_v3_and_v5_are_the_standard_name_based_uuids()
  -- RFC 9562 Appendix A: www.example.com in the DNS namespace
  t.eq(uuid.v3(DNS, "www.example.com"), "5df41881-3aed-3515-88a7-2f4a814cf09e", "uuid.v3")
  t.eq(uuid.v5(DNS, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2", "uuid.v5")
  t.eq(uuid.v5(DNS, "www.example.com"), uuid.v5(DNS:upper(), "www.example.com"), "namespace case")
  t.ne(uuid.v5(DNS, "a"), uuid.v5(DNS, "b"), "different names")
  local bad_namespace = t.fails("uuid.v3 with a bad namespace", uuid.v3("invalid", "x"))
  t.eq(bad_namespace:kind(), errors.INVALID, "the kind of uuid.v3's error")
  local no_name = t.fails("uuid.v5 without a name", uuid.v5(DNS))
  t.eq(no_name:kind(), errors.INVALID, "the kind of uuid.v5's error")
end

local function uuid_inspection_reads_and_writes_uuids()
  local v7 = uuid.v7()
  t.eq(uuid.version(v7), 7, "uuid.version")
  t.eq(uuid.variant(v7), "RFC4122", "uuid.variant")
  local info = t.check("uuid.parse", uuid.parse(DNS))
  t.eq(info.version, 1, "version of the DNS namespace")
  t.eq(info.timestamp, 886630433, "timestamp of the DNS namespace (1998-02-04)")
  t.eq(info.node, "00c04fd430c8", "node of the DNS namespace")
  t.is_nil(uuid.parse(uuid.v4()).timestamp, "a v4 has no timestamp")
  t.eq(uuid.format(DNS), DNS, "the standard form")
  t.eq(uuid.format(DNS:upper(), "simple"), "6ba7b8109dad11d180b400c04fd430c8", "the simple form")
  t.eq(uuid.format(DNS, "urn"), "urn:uuid:" .. DNS, "the urn form")
  local unknown_form = t.fails("uuid.format with an unknown form", uuid.format(DNS, "braces"))
  t.eq(unknown_form:kind(), errors.INVALID, "the kind of uuid.format's error")
  for _, name in ipairs({ "version", "variant", "parse", "format" }) do
    local err = t.fails("uuid." .. name .. " of a non-UUID", uuid[name]("not-a-uuid"))
    t.eq(err:kind(), errors.INVALID, "the kind of uuid." .. name .. "'s error")
  end
  t.eq(uuid.validate(DNS), true, "uuid.validate")
  t.eq(uuid.validate(DNS .. "-extra"), false, "uuid.validate with extra characters")
  t.eq(uuid.validate(nil), false, "uuid.validate(nil)")
end

return {
  uuid_v1_is_time_based_and_unique = uuid_v1_is_time_based_and_unique,
  uuid_v3_and_v5_are_the_standard_name_based_uuids = uuid_v3_and_v5_are_the_standard_name_based_uuids,
  uuid_inspection_reads_and_writes_uuids = uuid_inspection_reads_and_writes_uuids,
  uuid_v4_and_v7_have_the_right_format_and_are_unique = uuid_v4_and_v7_have_the_right_format_and_are_unique,
  uuid_v7_carries_the_current_time = uuid_v7_carries_the_current_time,
}
