local t = require("t")

return { main = function()
  local pid = process.spawn_monitored("wf.patterns:collector", "wf:flows")
  t.eq(process.terminate(pid), true, "terminate")
  local exit = process.events():receive()
  t.eq(exit.result.error:kind(), errors.CANCELED, "error kind")
  local sent, err = process.send(pid, "add", 1)
  t.eq(sent, nil, "a message to a finished workflow")
  t.eq(err:kind(), errors.NOT_FOUND, "its error")
  t.contains(err:message(), "has ended", "its message")
  return true
end }
