-- Starts a ponger on `node` and monitors it: when the node dies, the monitor's EXIT says
-- "node down: <node>". Returns that message.
local function main(node)
  local ponger, err = process.with_options({ node = node }):spawn_monitored("examples.cluster:ponger", "examples.cluster:processes")
  if err then
    return nil, err
  end
  print("watching " .. ponger .. " on node " .. node)
  local event = process.events():receive()
  return event.result.error and event.result.error:message() or "ended normally"
end

return { main = main }
