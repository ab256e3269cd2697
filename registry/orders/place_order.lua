-- Runs the saga workflow for three sample orders and returns what happened to each: one
-- ships, one is declined by the card limit (payment never taken, stock released), one cannot
-- be shipped (payment refunded, stock released). Each saga is a durable workflow: kill the
-- node in the middle and it resumes from its journal when the node starts again.
local logger = require("logger")

local SAMPLES = {
  { id = "A-1001", address = "Berlin", lines = { { sku = "widget", quantity = 2 }, { sku = "gadget", quantity = 1 } } },
  { id = "A-1002", address = "Lisbon", lines = { { sku = "gizmo", quantity = 2 } } },
  { id = "A-1003", address = "moon", lines = { { sku = "widget", quantity = 1 } } },
}

local function main()
  local outcomes = {}
  for _, order in ipairs(SAMPLES) do
    local result, err = process.exec("orders:order_saga", "app:workflows", order)
    if err then
      outcomes[order.id] = { ok = false, error = err:message() }
    else
      outcomes[order.id] = { ok = true, result = result }
    end
    if err then
      logger.info("order failed", { order = order.id, error = err:message() })
    else
      logger.info("order finished", { order = order.id, tracking = result.tracking })
    end
  end
  return outcomes
end

return { main = main }
