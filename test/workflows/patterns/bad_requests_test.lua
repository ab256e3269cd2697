local t = require("t")

return { main = function()
  local pid, err = process.spawn("wf.patterns:plain_process", "wf:flows") -- luact:ignore
  t.eq(pid, nil, "a process entry on a workflow host")
  t.contains(err:message(), "workflow hosts run workflow.lua entries", "its error")

  pid, err = process.spawn("wf.patterns:child", "wf:processes", 1) -- luact:ignore
  t.eq(pid, nil, "a workflow entry on a process host")
  t.contains(err:message(), "cannot spawn wf.patterns:child", "its error")

  pid, err = process.spawn("wf.patterns:nothing_here", "wf:flows") -- luact:ignore
  t.eq(err:kind(), errors.NOT_FOUND, "an unknown workflow entry")

  local value
  value, err = process.exec("wf.patterns:unserializable", "wf:flows")
  t.eq(value, nil, "an unserializable result")
  t.eq(err:kind(), errors.INVALID, "it fails the workflow")
  t.contains(err:message(), "returned a value that cannot leave it: msgpack: cannot encode a function", "its error")

  local sent
  sent, err = process.send("{wf:flows|never-started}", "hello")
  t.eq(sent, nil, "a message to an unknown workflow")
  t.eq(err:kind(), errors.NOT_FOUND, "its error")
  return true
end }
