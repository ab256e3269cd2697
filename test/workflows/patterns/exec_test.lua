local t = require("t")

return { main = function()
  t.eq(process.exec("wf.patterns:child", "wf:flows", 4), 8, "exec")
  return true
end }
