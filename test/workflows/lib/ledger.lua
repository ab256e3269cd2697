-- The ledger: "record" (book, entry) appends to a book; "read" (book) answers the sender
-- with the book's entries in the order they were recorded.
return { main = function()
  process.registry.register("wf.ledger")
  local inbox, events = process.inbox(), process.events()
  local books = {}
  while true do
    local ready = channel.select({ inbox:case_receive(), events:case_receive() })
    if ready.channel == events then
      if ready.value.kind == process.event.CANCEL then return "closed" end
    else
      local msg = ready.value
      local book, entry = msg:payload():data()
      if msg:topic() == "record" then
        books[book] = books[book] or {}
        books[book][#books[book] + 1] = entry
      elseif msg:topic() == "read" then
        process.send(msg:from(), "book", books[book] or {})
      end
    end
  end
end }
