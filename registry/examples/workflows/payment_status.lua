return { main = function(payment)
  return payment.bounces and "bounced" or "settled"
end }
