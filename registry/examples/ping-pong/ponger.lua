-- Answers every "ping" with a "pong" to its sender; returns after `rounds` pings.
local function main(rounds)
  local pings = process.listen("ping", { message = true })
  for _ = 1, rounds do
    local msg = pings:receive()
    process.send(msg:from(), "pong", msg:payload():data() + 1)
  end
  return rounds
end

return { main = main }
