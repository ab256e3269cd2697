-- A worker that does its job every second until asked to stop.
local time = require("time")
local logger = require("logger")

local function main(role)
  local events = process.events()
  local tick = time.ticker("1s")
  while true do
    local ready = channel.select({ events:case_receive(), tick:channel():case_receive() })
    if ready.channel == events and ready.value.kind == process.event.CANCEL then
      tick:stop()
      return role
    end
    logger.debug("working", { role = role })
  end
end

return { main = main }
