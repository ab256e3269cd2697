return { main = function(book)
  process.send("wf.ledger", "read", book)
  return process.inbox():receive():payload():data()
end }
