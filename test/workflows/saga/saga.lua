-- Reserve, charge, ship: each done step pushes its undo; on a failure the undos run in reverse.
local funcs = require("funcs")

local STEPS = {
  { name = "reserve", undo = "release" },
  { name = "charge", undo = "refund" },
  { name = "ship" },
}

return { main = function(book, fail_at)
  local undo = {}
  for _, step in ipairs(STEPS) do
    local _, err = funcs.call("wf:step", book, step.name, step.name == fail_at)
    if err then
      for i = #undo, 1, -1 do funcs.call("wf:step", book, undo[i]) end
      return nil, errors.wrap(err, "saga " .. book)
    end
    if step.undo then undo[#undo + 1] = step.undo end
  end
  return "shipped"
end }
