-- A pretend payment provider: charging always works; amounts ending in 13 bounce later.
local uuid = require("uuid")

return { main = function(order)
  return { id = uuid.v4(), amount = order.amount, bounces = order.amount % 100 == 13 }
end }
