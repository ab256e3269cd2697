-- Waits for an event and says what it was.
return { main = function()
  local event = process.events():receive()
  return { kind = event.kind, reason = event.reason }
end }
