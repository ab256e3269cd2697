return { main = function(book, entry)
  local ok, err = process.send("wf.ledger", "record", book, entry)
  if not ok then return nil, err end
  return entry
end }
