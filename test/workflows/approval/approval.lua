local time = require("time")

return { main = function(request)
  local decisions = process.listen("decision")
  local ready = channel.select({ decisions:case_receive(), time.after("72h"):case_receive() })
  if ready.channel == decisions then return { request = request, decision = ready.value } end
  return { request = request, decision = "expired" }
end }
