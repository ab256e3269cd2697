-- One step of a saga: recorded in the ledger, then done (or failed, when asked to).
return { main = function(book, name, fail)
  process.send("wf.ledger", "record", book, name)
  if fail then
    return nil, errors.new{ message = name .. " failed", kind = errors.UNAVAILABLE, retryable = false }
  end
  return name .. " done"
end }
