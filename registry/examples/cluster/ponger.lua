-- Answers every "ping" with a "pong" carrying the same number, until "stop".
local function main()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then
      return
    end
    process.send(msg:from(), "pong", msg:payload():data())
  end
end

return { main = main }
