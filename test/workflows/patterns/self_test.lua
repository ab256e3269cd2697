local time, uuid, workflow = require("time"), require("uuid"), require("workflow")
local t = require("t")

return { main = function()
  local info = workflow.info()
  t.eq(info.workflow_type, "wf.patterns:test_uuid_time_version_and_info", "workflow_type")
  t.eq(info.attempt, 1, "attempt")
  t.ok(type(info.workflow_id) == "string" and info.run_id == info.workflow_id .. "#1", "ids")
  t.ok(info.history_length >= 1, "history_length")
  t.ok(uuid.v4():match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$") ~= nil, "uuid v4")
  t.ok(uuid.v7() ~= uuid.v7(), "uuid v7 differ")
  local before = time.now()
  time.sleep("10ms")
  t.ok(time.now():after(before), "time moves on")
  t.eq(os.time(), time.now():unix(), "os.time is workflow time")
  t.eq(workflow.version("first-change", 1, 2), 2, "version of new code")
  return true
end }
