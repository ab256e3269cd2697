-- Starts a child linked to it that fails: not trapping links, it fails with it.
local time = require("time")
return { main = function()
  process.spawn_linked("wf.patterns:child", "wf:flows", -1)
  time.sleep("1h")
  return "not reached"
end }
