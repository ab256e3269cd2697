-- uuid: v4 and v7 (docs/lua-api/uuid.md).
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

return {
  uuid_v4_and_v7_have_the_right_format_and_are_unique = uuid_v4_and_v7_have_the_right_format_and_are_unique,
  uuid_v7_carries_the_current_time = uuid_v7_carries_the_current_time,
}
