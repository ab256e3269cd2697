local workflow = require("workflow")
local t = require("t")

return { main = function()
  t.eq(workflow.exec("wf.patterns:child", 21), 42, "child result")
  local value, err = process.exec("wf.patterns:child", "wf:flows", -1)
  t.eq(value, nil, "failed child value")
  t.eq(err:kind(), errors.INVALID, "error kind")
  t.eq(err:retryable(), false, "retryable")
  t.contains(err:message(), "negative input -1", "error message")
  local pid = process.spawn_monitored("wf.patterns:child", "wf:flows", 5)
  local exit = process.events():receive()
  t.eq({ exit.kind, exit.from, exit.result.value }, { process.event.EXIT, pid, 10 }, "EXIT of a monitored child")
  -- A plain spawn is monitored too, and a host may be named by its task queue.
  local plain = process.spawn("wf.patterns:child", "wf-queue", 3)
  local plain_exit = process.events():receive()
  t.eq({ plain_exit.kind, plain_exit.from, plain_exit.result.value }, { process.event.EXIT, plain, 6 },
    "EXIT of a child started with plain spawn, on a task queue")
  -- A workflow linked to a child that fails fails with it (it does not trap links).
  local linked = process.spawn_monitored("wf.patterns:linked_parent", "wf:flows")
  local linked_exit = process.events():receive()
  t.eq(linked_exit.from, linked, "EXIT of the parent of a failed linked child")
  t.eq(linked_exit.result.error:kind(), errors.UNAVAILABLE, "it failed with its child")
  t.contains(linked_exit.result.error:message(), "negative input -1", "naming the child's error")
  return true
end }
