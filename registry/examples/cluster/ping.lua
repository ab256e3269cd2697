local time = require("time")

-- Starts a ponger on `node` and plays `rounds` rounds with it, one ping at a time; every pong
-- must answer the ping just sent. Returns where the ponger ran and the mean round trip.
local function main(node, rounds)
  local ponger, err = process.with_options({ node = node }):spawn("examples.cluster:ponger", "examples.cluster:processes")
  if err then
    return nil, err
  end
  local pongs = process.listen("pong")
  local started = time.now():unix_nano()
  for i = 1, rounds do
    assert(process.send(ponger, "ping", i))
    local n = pongs:receive()
    if n ~= i then
      return nil, errors.new({ message = "pong " .. tostring(n) .. " after ping " .. i, kind = errors.INTERNAL })
    end
  end
  local elapsed_ms = (time.now():unix_nano() - started) / 1e6
  process.send(ponger, "stop")
  return { ponger = ponger, rounds = rounds, mean_round_trip_ms = math.floor(elapsed_ms / rounds * 100) / 100 }
end

return { main = main }
