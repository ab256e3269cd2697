local time = require("time")

local function main()
  local rounds = 5
  local ponger, err = process.spawn_monitored("examples.pingpong:ponger", "app:processes", rounds)
  if err then
    return nil, err
  end
  local pongs = process.listen("pong")
  local count = 0
  for _ = 1, rounds do
    process.send(ponger, "ping", count)
    local ready = channel.select({ pongs:case_receive(), time.after("1s"):case_receive() })
    if ready.channel ~= pongs then
      return nil, errors.new({ message = "ponger did not answer", kind = errors.TIMEOUT })
    end
    count = ready.value
  end
  return count
end

return { main = main }
