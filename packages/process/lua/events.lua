-- events (docs/lua-api/events.md): publish and subscribe on the node's event bus. A
-- subscription feeds a channel of this process from TypeScript; it ends with sub:close() or
-- with the process.
local host, rt = ...

local setmetatable, type, pcall, tostring, math_type = setmetatable, type, pcall, tostring, math.type
local codec, make_error, new_fed_channel = rt.codec, rt.make_error, rt.new_fed_channel

--- One delivery: the system, the kind, and msgpack [path, data].
local function as_event(system, kind, bytes)
  local rest = codec.decode(bytes)
  return { system = system, kind = kind, path = rest[1], data = rest[2] }
end

local Subscription = {}
local SUBSCRIPTION_MT = { __index = Subscription, __name = 'events.subscription', __metatable = false }

function Subscription:channel()
  return self._channel
end

function Subscription:close()
  if not self._closed then
    self._closed = true
    host.unsubscribe(self._id)
    self._channel:close()
  end
  return true
end

--- Events this subscription missed because it had too many waiting to be received.
function Subscription:dropped()
  return host.dropped(self._id)
end

local function subscribe(system, kind)
  if kind ~= nil and type(kind) ~= 'string' then
    return nil, make_error('INVALID', 'events.subscribe: the kind pattern must be a string or nil', false)
  end
  local ch = new_fed_channel('events', as_event)
  local id, err_kind, message = host.subscribe(system, kind, rt.fed_id_of(ch))
  if id == false then
    ch:close()
    return nil, make_error(err_kind, message)
  end
  -- On a worker thread the main thread takes the subscription later: wait until it has.
  if math_type(err_kind) == 'integer' then settled(err_kind) end
  return setmetatable({ _id = id, _channel = ch, _closed = false }, SUBSCRIPTION_MT)
end

local function send(system, kind, path, data)
  local bytes
  if data ~= nil then
    local ok, encoded = pcall(codec.encode, data)
    if not ok then
      return nil, make_error('INVALID', 'events.send: the data cannot be sent: ' .. tostring(encoded), false)
    end
    bytes = encoded
  end
  local ok, err_kind, message = host.send(system, kind, path, bytes)
  if ok == false then return nil, make_error(err_kind, message) end
  return true
end

return { subscribe = subscribe, send = send }
