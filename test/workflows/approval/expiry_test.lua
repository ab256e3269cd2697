local time, workflow = require("time"), require("workflow")
local t = require("t")

-- Nobody answers: three days later (of workflow time) it expires.
return { main = function()
  local t0 = time.now()
  local result = workflow.exec("wf.approval:approval", "R-2")
  t.eq(result, { request = "R-2", decision = "expired" }, "result")
  t.ok(time.now():sub(t0):hours() >= 72, "72 hours of workflow time passed")
  return true
end }
