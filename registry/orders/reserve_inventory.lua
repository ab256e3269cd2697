local logger = require("logger")
local catalog = require("catalog")

-- Reserves every line of the order; fails without retry when an item is unknown or sold out.
local function main(order)
  for _, line in ipairs(order.lines) do
    local item = catalog.item(line.sku)
    if item == nil then
      return nil, errors.new({ message = "unknown item " .. tostring(line.sku), kind = errors.INVALID, retryable = false })
    end
    if line.quantity > item.stock then
      return nil, errors.new({
        message = "not enough " .. line.sku .. " in stock",
        kind = errors.CONFLICT,
        retryable = false,
        details = { sku = line.sku, wanted = line.quantity, available = item.stock },
      })
    end
  end
  logger.info("inventory reserved", { order = order.id })
  return { reservation = "res-" .. order.id }
end

return { main = main }
