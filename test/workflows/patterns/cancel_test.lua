local t = require("t")

return { main = function()
  local pid = process.spawn_monitored("wf.patterns:patient", "wf:flows")
  t.eq(process.cancel(pid, "the customer changed their mind"), true, "cancel")
  local exit = process.events():receive()
  t.eq(exit.result.value, { kind = process.event.CANCEL, reason = "the customer changed their mind" }, "result")
  return true
end }
