-- A parent with children: one child workflow per item, started together, results gathered in
-- order. Each child is durable on its own; the parent waits for their EXIT events.
local workflow = require("workflow")

return { main = function(items)
  local children = {}
  for i, item in ipairs(items) do
    children[process.spawn_monitored("examples.workflows:square", "app:workflows", item)] = i
  end
  local results, pending = {}, #items
  local events = process.events()
  while pending > 0 do
    local event = events:receive()
    local index = children[event.from]
    if event.kind == process.event.EXIT and index then
      if event.result.error then return nil, event.result.error end
      results[index] = event.result.value
      pending = pending - 1
    end
  end
  return { results = results, parent = workflow.info().workflow_id }
end }
