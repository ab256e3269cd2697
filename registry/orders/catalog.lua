-- Prices and stock of the example shop, shared by the activities.
local catalog = {}

local items = {
  ["widget"] = { price = 1250, stock = 100 },
  ["gadget"] = { price = 4999, stock = 5 },
  ["gizmo"] = { price = 99900, stock = 2 },
}

function catalog.item(sku)
  return items[sku]
end

-- Total of an order in cents, or nil and an error for an unknown item.
function catalog.total(order)
  local total = 0
  for _, line in ipairs(order.lines) do
    local item = items[line.sku]
    if item == nil then
      return nil, errors.new({ message = "unknown item " .. tostring(line.sku), kind = errors.INVALID })
    end
    total = total + item.price * line.quantity
  end
  return total
end

return catalog
