-- supervisor: the states of the node's services (process.service entries and top-level
-- process.supervisor entries), as `luact services` shows them.
--   supervisor.status(id) -> {state, attempts, last_error, since} | nil, err (NOT_FOUND)
--   supervisor.list()     -> {[id] = {state, attempts, last_error, since}, ...}
-- `id` may be a bare name, resolved in the calling entry's namespace; `since` is unix seconds.
-- On a worker thread the answers come from the node's main thread: `settled` (put ahead of this
-- file) waits for them.
local host, rt = ...

local codec, make_error, type, error = rt.codec, rt.make_error, type, error

return {
  status = function(id)
    if type(id) ~= 'string' then error('supervisor.status expects a service ID', 2) end
    local bytes, kind, message = settled(host.status(id))
    if bytes == false then return nil, make_error(kind, message) end
    return codec.decode(bytes)
  end,
  list = function()
    local bytes, kind, message = settled(host.list())
    if bytes == false then error(make_error(kind, message), 2) end
    return codec.decode(bytes)
  end,
}
