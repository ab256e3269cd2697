local funcs, workflow = require("funcs"), require("workflow")
local t = require("t")

local function book(name)
  return name .. ":" .. workflow.info().workflow_id
end

return {
  compensations_run_in_reverse_order = function()
    local b = book("ship-fails")
    local value, err = workflow.exec("wf.saga:saga", b, "ship")
    t.eq(value, nil, "saga value")
    t.contains(err:message(), "ship failed", "saga error")
    t.eq(err:kind(), errors.UNAVAILABLE, "error kind")
    t.eq(funcs.call("wf:read_ledger", b), { "reserve", "charge", "ship", "refund", "release" }, "ledger")
    return true
  end,

  a_saga_without_failures_runs_no_compensation = function()
    local b = book("all-good")
    t.eq(workflow.exec("wf.saga:saga", b), "shipped", "saga value")
    t.eq(funcs.call("wf:read_ledger", b), { "reserve", "charge", "ship" }, "ledger")
    return true
  end,
}
