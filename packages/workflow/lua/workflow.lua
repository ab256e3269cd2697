-- workflow (docs/lua-api/workflow.md; workflow.lua entries only): what a run knows about
-- itself, child workflows on its own host, and versioning of code that runs in flight.
--   workflow.info()                     -> {workflow_id, run_id, workflow_type, task_queue,
--                                          namespace, attempt, history_length}
--   workflow.history_length()           -> the journal records the run has handled so far
--   workflow.history_size()             -> about how many bytes those records take
--   workflow.exec(entry, ...)           -> the child workflow's value, or nil, err
--   workflow.version(change, min, max)  -> max for new runs; for runs that started under older
--                                          code, the version recorded then (min if none was)
local host, rt = ...

local codec, type, error, math_type = rt.codec, type, error, math.type

local workflow = {}

function workflow.info()
  return codec.decode(host.info())
end

function workflow.history_length()
  return host.history_length()
end

function workflow.history_size()
  return host.history_size()
end

function workflow.exec(entry, ...)
  if type(entry) ~= 'string' then error('workflow.exec expects an entry ID', 2) end
  return rt.base_globals.process.exec(entry, host.host_id(), ...)
end

function workflow.version(change, min, max)
  if type(change) ~= 'string' or change == '' then error('workflow.version expects a change ID string', 2) end
  if math_type(min) ~= 'integer' or math_type(max) ~= 'integer' or min > max then
    error('workflow.version expects integers min <= max', 2)
  end
  return host.version(change, min, max)
end

return workflow
