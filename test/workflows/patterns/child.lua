-- Doubles its input; fails (not retryable) on a negative one.
return { main = function(x)
  if x < 0 then
    error(errors.new{ message = "negative input " .. x, kind = errors.INVALID, retryable = false })
  end
  return x * 2
end }
