local logger = require("logger")

-- Compensation of charge_payment.
local function main(order, payment)
  logger.info("payment refunded", { order = order.id, payment = payment.id, amount = payment.amount })
  return true
end

return { main = main }
