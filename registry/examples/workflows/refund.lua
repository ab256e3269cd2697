return { main = function(payment)
  return { refunded = payment.id, amount = payment.amount }
end }
