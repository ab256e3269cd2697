local logger = require("logger")
local uuid = require("uuid")

-- Hands the order to the carrier; orders to the moon cannot be shipped.
local function main(order)
  if order.address == "moon" then
    return nil, errors.new({ message = "no carrier delivers to the moon", kind = errors.INVALID, retryable = false })
  end
  local tracking = "trk-" .. uuid.v4()
  logger.info("order shipped", { order = order.id, tracking = tracking })
  return { tracking = tracking }
end

return { main = main }
