-- A multi-day approval: waits for a "decision" message for up to a week, logging a reminder
-- every day it waits. Send the decision from anywhere:
--   npx luact workflow signal <id> decision '"approved"'
local time = require("time")
local logger = require("logger")

return { main = function(request)
  local decisions = process.listen("decision")
  local deadline = time.after("168h")
  local reminders = time.ticker("24h")
  local days = 0
  while true do
    local ready = channel.select({
      decisions:case_receive(), deadline:case_receive(), reminders:channel():case_receive(),
    })
    if ready.channel == decisions then
      reminders:stop()
      return { request = request, decision = ready.value, days = days }
    elseif ready.channel == deadline then
      reminders:stop()
      return { request = request, decision = "expired", days = days }
    end
    days = days + 1
    logger.info("approval still waiting", { request = request, days = days })
  end
end }
