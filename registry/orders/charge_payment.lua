local logger = require("logger")
local uuid = require("uuid")
local catalog = require("catalog")

local CARD_LIMIT = 100000 -- cents

-- Charges the order's total to its card; a total above the card limit is declined for good.
local function main(order)
  local total, err = catalog.total(order)
  if err then
    return nil, err
  end
  if total > CARD_LIMIT then
    return nil, errors.new({
      message = "card declined: " .. total .. " exceeds the limit",
      kind = errors.PERMISSION_DENIED,
      retryable = false,
      details = { total = total, limit = CARD_LIMIT },
    })
  end
  local payment = { id = uuid.v4(), amount = total }
  logger.info("payment charged", { order = order.id, amount = total })
  return payment
end

return { main = main }
