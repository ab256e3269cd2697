-- A process starts an approval, lets it wait, and decides it.
return { main = function()
  local pid = process.spawn_monitored("examples.workflows:approval", "app:workflows", "R-7")
  assert(process.send(pid, "decision", "approved"))
  local exit = process.events():receive()
  assert(exit.result.value.decision == "approved", "the decision ends the approval")
  return true
end }
