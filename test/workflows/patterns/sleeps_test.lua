local time = require("time")
local t = require("t")

return { main = function()
  local t0 = time.now()
  time.sleep("150ms")
  time.sleep(150 * time.MILLISECOND)
  t.ok(time.now():sub(t0):milliseconds() >= 300, "300 ms of workflow time passed")
  return true
end }
