local t = require("t")

return { main = function()
  t.eq(process.exec("wf.patterns:child", "wf:flows", 4), 8, "exec")
  t.eq(process.exec("wf.patterns:child", "wf-queue", 5), 10, "exec on a host named by its task queue")
  return true
end }
