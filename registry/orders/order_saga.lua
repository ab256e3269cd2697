-- The order saga. Each completed step pushes its compensation; when a later step fails, the
-- compensations run newest first, so the shop is left as it was before the order.
local funcs = require("funcs")
local time = require("time")
local logger = require("logger")

local function compensate(compensations, order)
  for i = #compensations, 1, -1 do
    local step = compensations[i]
    local _, err = funcs.call(step.entry, order, step.result)
    if err then
      logger.error("compensation failed", { order = order.id, step = step.entry, error = tostring(err) })
    end
  end
end

local function main(order)
  local compensations = {}
  local steps = {
    { entry = "orders:reserve_inventory", undo = "orders:release_inventory" },
    { entry = "orders:charge_payment", undo = "orders:refund_payment" },
    { entry = "orders:ship_order" },
  }
  local results = {}
  for _, step in ipairs(steps) do
    local result, err = funcs.call(step.entry, order)
    if err then
      compensate(compensations, order)
      process.send("orders.notifier", "order.failed", { order = order.id, step = step.entry, error = err:message() })
      return nil, errors.wrap(err, "order " .. order.id .. " failed at " .. step.entry)
    end
    results[step.entry] = result
    if step.undo then
      table.insert(compensations, { entry = step.undo, result = result })
    end
  end
  -- Give the carrier a moment before confirming: a durable timer inside a workflow.
  time.sleep("100ms")
  process.send("orders.notifier", "order.completed", { order = order.id })
  return {
    order = order.id,
    payment = results["orders:charge_payment"].id,
    tracking = results["orders:ship_order"].tracking,
  }
end

return { main = main }
