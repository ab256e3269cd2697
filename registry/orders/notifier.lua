-- A long-running process under supervision: registers a name and logs every order update it
-- is sent until the service is stopped (CANCEL).
local logger = require("logger")

local function main()
  local _, err = process.registry.register("orders.notifier")
  if err then
    return nil, err
  end
  local inbox = process.inbox()
  local events = process.events()
  while true do
    local ready = channel.select({ inbox:case_receive(), events:case_receive() })
    if ready.channel == events then
      if ready.value.kind == process.event.CANCEL then
        logger.info("notifier stopping", { reason = ready.value.reason })
        return "stopped"
      end
    else
      local msg = ready.value
      logger.info("order update", { topic = msg:topic(), update = msg:payload():data() })
    end
  end
end

return { main = main }
