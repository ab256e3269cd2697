-- The order processor: charge the card, give the bank a day to settle, check the payment,
-- refund it if it bounced. A crash anywhere in between loses nothing: the charge is not
-- repeated, and the day-long sleep is a durable timer that fires after a restart.
local funcs = require("funcs")
local time = require("time")
local logger = require("logger")

return { main = function(order)
  local payment, err = funcs.call("examples.workflows:charge", order)
  if err then return nil, errors.wrap(err, "charging order " .. order.id) end
  logger.info("charged", { order = order.id, payment = payment.id })

  time.sleep("24h")

  local status = funcs.call("examples.workflows:payment_status", payment)
  if status == "settled" then
    return { order = order.id, payment = payment.id, status = status }
  end
  local refund = funcs.call("examples.workflows:refund", payment)
  logger.warn("payment bounced, refunded", { order = order.id, payment = payment.id })
  return { order = order.id, payment = payment.id, status = status, refund = refund }
end }
