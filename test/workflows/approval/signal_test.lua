local t = require("t")

-- A process starts the approval and decides it; the workflow ends with the decision.
return { main = function()
  local pid = process.spawn_monitored("wf.approval:approval", "wf:flows", "R-1")
  t.eq(process.send(pid, "decision", "approved"), true, "send")
  local exit = process.events():receive()
  t.eq(exit.kind, process.event.EXIT, "event")
  t.eq(exit.result.value, { request = "R-1", decision = "approved" }, "result")
  return true
end }
