-- Adds up "add" messages until "done".
return { main = function()
  local inbox, total, topics = process.inbox(), 0, {}
  while true do
    local msg = inbox:receive()
    topics[#topics + 1] = msg:topic()
    if msg:topic() == "done" then return { total = total, topics = topics } end
    total = total + msg:payload():data()
  end
end }
