local t = require("t")

return { main = function()
  local id = "collector-" .. process.pid():gsub("[^%w]", "")
  local a = process.with_name(id):with_message("add", 2):spawn("wf.patterns:collector", "wf:flows")
  local b = process.with_options({ ["workflow.id"] = id, ["workflow.id_conflict_policy"] = "use_existing" })
    :with_message("add", 3):spawn("wf.patterns:collector", "wf:flows")
  t.eq(a, b, "the same workflow")
  local refused, err = process.with_options({ ["temporal.workflow.id"] = id, ["temporal.workflow.id_conflict_policy"] = "fail" })
    :spawn("wf.patterns:collector", "wf:flows")
  t.eq(refused, nil, "fail policy")
  t.eq(err:kind(), errors.ALREADY_EXISTS, "fail policy error")
  process.monitor(a)
  process.send(a, "done")
  local exit = process.events():receive()
  t.eq(exit.result.value, { total = 5, topics = { "add", "add", "done" } }, "result")
  return true
end }
