-- The events module (docs/lua-api/events.md). Each test uses systems of its own, so tests
-- running at the same time do not see each other's events.
local t = require("t")
local events = require("events")
local time = require("time")

local HOST = "lua_api:processes"

--- Spawned: publishes `count` events under `system`, with kinds that alternate.
local function publish(system, count)
  for i = 1, count do
    local kind = i % 2 == 1 and "item.added" or "item.removed"
    assert(events.send(system .. ".shelf" .. i, kind, "/items/" .. i, { n = i }))
  end
end

local function events_reach_subscribers_in_other_processes_in_order()
  local all = t.check("subscribe", events.subscribe("lua_api_events_order.**"))
  local added = t.check("subscribe with a kind", events.subscribe("lua_api_events_order.*", "item.added"))
  t.check("spawn", process.spawn("lua_api.events:publish", HOST, "lua_api_events_order", 4))
  for i = 1, 4 do
    local r = channel.select({ all:channel():case_receive(), time.after("5s"):case_receive() })
    t.eq(r.channel, all:channel(), "event " .. i .. " arrived")
    t.eq(r.value, {
      system = "lua_api_events_order.shelf" .. i,
      kind = i % 2 == 1 and "item.added" or "item.removed",
      path = "/items/" .. i,
      data = { n = i },
    }, "event " .. i)
  end
  t.eq(added:channel():receive().path, "/items/1", "the first added item")
  t.eq(added:channel():receive().path, "/items/3", "the second added item")
  t.eq(added:dropped(), 0, "nothing dropped")
end

local function events_close_ends_a_subscription_and_its_channel()
  local sub = t.check("subscribe", events.subscribe("lua_api_events_close"))
  local ch = sub:channel()
  t.eq(sub:channel(), ch, "the same channel on every call")
  t.check("send", events.send("lua_api_events_close", "k", "/1"))
  t.eq(sub:close(), true, "close")
  t.eq(sub:close(), true, "close again")
  local value, ok = ch:receive()
  t.is_nil(value, "nothing after close")
  t.eq(ok, false, "the channel is closed")
end

local function events_bad_arguments_are_invalid()
  t.is_error(t.fails("subscribe('')", events.subscribe("")), errors.INVALID)
  t.is_error(t.fails("a malformed pattern", events.subscribe("a..b")), errors.INVALID)
  t.is_error(t.fails("send with an empty system", events.send("", "kind", "/path")), errors.INVALID)
  t.is_error(t.fails("send with an empty kind", events.send("system", "", "/path")), errors.INVALID)
  t.is_error(t.fails("send with an empty path", events.send("system", "kind", "")), errors.INVALID)
end

return {
  publish = publish,
  events_reach_subscribers_in_other_processes_in_order = events_reach_subscribers_in_other_processes_in_order,
  events_close_ends_a_subscription_and_its_channel = events_close_ends_a_subscription_and_its_channel,
  events_bad_arguments_are_invalid = events_bad_arguments_are_invalid,
}
