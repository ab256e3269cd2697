-- The `process` global (docs/lua-api/process.md). Everything that touches other processes goes
-- to TypeScript through `host`; what stays inside the process (channels for the inbox, events
-- and listened topics, message objects, spawner values) lives here.
--
-- Fallible host calls return their value, or `false, kind, message`, turned here into
-- `nil, err` so Lua code never has to catch.
--
-- `LIMITS` (sizes of topics, names, reasons and references) is a local that processLua puts
-- ahead of this file, from VALUE_LIMITS in value-limits.ts: strings are checked here, before
-- they are copied out of the Lua heap.
local host, rt = ...

local setmetatable, type, select, error, pcall, tostring, next = setmetatable, type, select, error, pcall, tostring, next
local codec, make_error, new_fed_channel, group_state, fiber =
  rt.codec, rt.make_error, rt.new_fed_channel, rt.group_state, rt.fiber

--- A host call completed later (a send stored on another node first, or journaled by an
--- external host) answers with an integer token instead. `host.settle(token)` gives the real
--- answer (`value` or `false, kind, message`) once it came, or nothing after arranging that this
--- fiber is woken when it comes: the wait below asks it each time the fiber is woken.
local math_type = math.type
local settle, block = host.settle, rt.block
local ANSWER_WAIT = {
  __index = function(wait, key)
    if key ~= 'done' then return nil end
    local value, kind, message = settle(wait.token)
    if value == nil then return false end
    wait.value, wait.kind, wait.message = value, kind, message
    return true
  end,
}
local function settled(first, kind, message)
  if math_type(first) ~= 'integer' then return first, kind, message end
  local wait = setmetatable({ token = first }, ANSWER_WAIT)
  block(wait, nil)
  return wait.value, wait.kind, wait.message
end

local function result(value, kind, message, retryable)
  if math_type(value) == 'integer' then value, kind, message = settled(value) end
  if value == false then return nil, make_error(kind, message, retryable) end
  return value
end

local function state()
  local _, group = fiber()
  return group_state(group), group
end

local NO_VALUES = '\x90'
-- What a pcall hands back when an allocation found no room (Lua's own message).
local NO_MEMORY = 'not enough memory'

--- The payload values of a send, encoded; a value that cannot be sent is an INVALID error, and
--- no room to encode it a RATE_LIMITED one (the sender's memory limit, as for any allocation).
local encode_one = codec.encode_one

local function encode_payload(...)
  local n = select('#', ...)
  if n == 0 then return NO_VALUES end
  -- One scalar cannot fail to encode: no pcall (a setjmp through JavaScript in this build).
  if n == 1 then
    local fast = encode_one((...))
    if fast ~= nil then return fast end
  end
  local ok, encoded = pcall(codec.encode_values, n, ...)
  if ok then return encoded end
  if encoded == NO_MEMORY then
    return nil, make_error('RATE_LIMITED', 'out of memory: this process has no room to encode the message', true)
  end
  return nil, make_error('INVALID', tostring(encoded), false)
end

local function first_value(bytes)
  return (select(2, codec.decode_values(bytes)))
end

local function time_of(ns)
  return rt.new_time ~= nil and rt.new_time(ns) or ns
end

-- Bounded strings ------------------------------------------------------------------------------

local sbyte, utf8_len = string.byte, utf8.len

local function invalid(where, message)
  return make_error('INVALID', where .. ': ' .. message, false)
end

--- An INVALID error when `text` has more than `limit` bytes, else nil.
local function too_long(where, what, text, limit)
  if #text <= limit then return nil end
  return invalid(where, what .. ' of ' .. #text .. ' bytes exceeds the limit of ' .. limit .. ' bytes')
end

--- An INVALID error unless `topic` is a topic a process may send to or listen on.
local function check_topic(where, topic)
  if type(topic) ~= 'string' then return invalid(where, 'topic must be a string') end
  local err = too_long(where, 'topic', topic, LIMITS.topic)
  if err ~= nil then return err end
  if sbyte(topic, 1) == 64 then
    return invalid(where, 'topic "' .. topic .. '" is reserved (topics starting with @)')
  end
end

--- An INVALID error unless `dest` can name a process (a PID or a registered name).
local function check_destination(where, dest)
  if type(dest) ~= 'string' then return invalid(where, 'destination must be a PID or a name') end
  return too_long(where, 'destination', dest, LIMITS.reference)
end

--- An INVALID error unless `name` is a string of at most LIMITS.name bytes of valid UTF-8:
--- checked here, before the string is copied out of the heap; the rest of the name rule
--- (printable, no PID delimiters) is checked where the name is used, naming the character.
local function check_name(where, name)
  if type(name) ~= 'string' or name == '' then return invalid(where, 'a name must be a non-empty string') end
  local err = too_long(where, 'name', name, LIMITS.name)
  if err ~= nil then return err end
  if utf8_len(name) == nil then return invalid(where, 'a name must be valid UTF-8') end
end

-- Messages -----------------------------------------------------------------------------------

-- Methods and metatables apart: `obj.__index` must not hand out a table every process shares.
-- A message is the list {topic, from, bytes, value}: a list is the cheapest table to make.
local Message = {}
local MESSAGE_MT = { __index = Message, __name = 'message', __metatable = false }
function Message:topic() return self[1] end
function Message:from() return self[2] end
-- The payload is the message itself: msg:payload():data() allocates nothing on the hot path.
-- Its other payload methods go through a kernel payload of the value, made when one is called.
function Message:payload() return self end
-- A message from a process of the same engine may carry its one number, string or boolean as
-- it is (`value`, no `bytes`): values Lua never changes in place need no copy.
function Message:data()
  local bytes = self[3]
  if bytes == nil then return self[4] end
  return select(2, codec.decode_values(bytes))
end
Message.unmarshal = Message.data
function Message:get_format() return rt.payload.format.LUA end
function Message:transcode(format) return rt.new_payload(self:data()):transcode(format) end

local function as_message(topic, from, bytes)
  return setmetatable({ topic, from, bytes }, MESSAGE_MT)
end

local function as_payload(_, _, bytes)
  return first_value(bytes)
end

-- How mail channels (kernel/channel.lua) hand over what was sent directly: an inbox and a
-- topic listened to with {message = true} receive messages, any other topic its first value.
local MESSAGES = { mt = MESSAGE_MT, encode = encode_one }
local PAYLOADS = { first = first_value, encode = encode_one }

local function as_event(kind, from, bytes)
  local details = codec.decode(bytes)
  local event = { kind = kind, from = from, at = time_of(details[1]) }
  if kind == 'CANCEL' then
    event.reason = details[4]
  else
    event.result = { value = details[2], error = details[3] }
  end
  return event
end

-- The process API ------------------------------------------------------------------------------

local process = {
  event = { EXIT = 'EXIT', LINK_DOWN = 'LINK_DOWN', CANCEL = 'CANCEL' },
  -- Wippy's three cluster scopes are luact's one: a single holder decided by the cluster.
  registry = {
    LOCAL = 'local', CLUSTER = 'cluster', EVENTUAL = 'cluster', CONSISTENT = 'cluster', STRONG = 'cluster',
  },
}

function process.pid() return host.pid() end
function process.id() return host.entry_id() end

-- Mail between processes of this host ----------------------------------------------------------
--
-- On a process host, a process's inbox and topics are mail channels (kernel/channel.lua): a
-- process of the same engine sends to them directly, without a host call (process.send is the
-- kernel's, rt.new_send, which says how), while what the receiver holds is well inside the
-- host's mailbox limits (half of them); past that, and for every other destination,
-- TypeScript routes the message, checks it and says why it refuses. The channel keeps mail
-- from one sender in the order it was sent, whichever way it came.

local new_mail_channel = rt.new_mail_channel

-- {messages, bytes, message size} a direct send stays within, filled on the first mail channel;
-- `mail_channels` is false on a host whose mail goes through TypeScript only (a workflow host:
-- its runs journal what they receive).
local mail_limits, mail_channels = {}, nil

--- A mail channel for the running process (registering it for direct mail on its first), or
--- nil on a host without them.
local function mail_channel(st, group, kind)
  if mail_channels == nil then
    local messages, bytes, size = host.mail_limits()
    mail_channels = messages ~= nil
    mail_limits[1], mail_limits[2], mail_limits[3] = messages, bytes, size
  end
  if not mail_channels then return nil end
  -- Its first mail channel registers it: on this host its inbox and listens hold only those.
  if st.inbox == nil and st.listens == nil then rt.mail_register(host.pid(), group, st) end
  return new_mail_channel(group, kind)
end

local host_send, REFERENCE = host.send, LIMITS.reference

local function send_through_host(dest, topic, payload)
  local ok, kind, message = host_send(dest, topic, payload)
  if ok == true then return true end
  ok, kind, message = settled(ok, kind, message)
  if ok == false then return nil, make_error(kind, message) end
  return ok
end

--- The error of a destination or topic that process.send cannot take; nil when both are fine.
local function check_send(dest, topic)
  return check_destination('process.send', dest) or check_topic('process.send', topic)
end

process.send = rt.new_send(check_send, encode_payload, send_through_host, host.pid, mail_limits)

function process.inbox()
  local st, group = state()
  if st.inbox == nil then
    local ch = mail_channel(st, group, MESSAGES) or new_fed_channel('inbox', as_message)
    st.inbox = ch
    host.inbox(rt.fed_id_of(ch))
  end
  return st.inbox
end

function process.events()
  local st = state()
  if st.events == nil then
    st.events = new_fed_channel('events', as_event)
    host.events(rt.fed_id_of(st.events))
  end
  return st.events
end

function process.listen(topic, options)
  if type(topic) ~= 'string' then error('process.listen expects a topic string, got ' .. type(topic), 2) end
  local err = check_topic('process.listen', topic)
  if err ~= nil then error(err, 2) end
  local as_messages = type(options) == 'table' and options.message == true
  local st, group = state()
  local listens = st.listens
  local existing = listens ~= nil and listens[topic] or nil
  if existing ~= nil then return existing end
  local ch = mail_channel(st, group, as_messages and MESSAGES or PAYLOADS)
    or new_fed_channel('listen', as_messages and as_message or as_payload)
  if listens == nil then
    listens = {}
    st.listens = listens
  end
  listens[topic] = ch
  host.listen(topic, rt.fed_id_of(ch))
  return ch
end

function process.unlisten(ch)
  local listens = state().listens
  -- Its topic is found here, not kept on the channel: a field more would take a listening
  -- channel's table to its next size.
  local topic
  if listens ~= nil then
    for t, listening in next, listens do
      if listening == ch then
        topic = t
        break
      end
    end
  end
  if topic == nil then error('process.unlisten expects a channel returned by process.listen', 2) end
  listens[topic] = nil
  host.unlisten(topic)
  ch:close()
end

--- process.<name>(dest): the host call `name` with a checked destination.
local function to_destination(name)
  local call, where = host[name], 'process.' .. name
  return function(dest)
    local err = check_destination(where, dest)
    if err ~= nil then return nil, err end
    return result(call(dest))
  end
end

process.terminate = to_destination('terminate')
process.monitor = to_destination('monitor')
process.unmonitor = to_destination('unmonitor')
process.link = to_destination('link')
process.unlink = to_destination('unlink')

function process.cancel(dest, reason)
  local err = check_destination('process.cancel', dest)
  if err ~= nil then return nil, err end
  if reason ~= nil and type(reason) ~= 'string' then reason = tostring(reason) end
  if reason ~= nil then
    err = too_long('process.cancel', 'reason', reason, LIMITS.reason)
    if err ~= nil then return nil, err end
  end
  return result(host.cancel(dest, reason))
end

function process.get_options()
  return { trap_links = host.get_trap_links() }
end

function process.set_options(options)
  if type(options) ~= 'table' then return nil, make_error('INVALID', 'process.set_options expects a table', false) end
  for key, value in pairs(options) do
    if key ~= 'trap_links' then
      local shown = tostring(key)
      if #shown > 64 then shown = shown:sub(1, 64) .. '…' end
      return nil, make_error('INVALID', 'process.set_options: unknown option "' .. shown .. '"', false)
    end
    if type(value) ~= 'boolean' then
      return nil, make_error('INVALID', 'process.set_options: trap_links must be a boolean', false)
    end
  end
  if options.trap_links ~= nil then host.set_trap_links(options.trap_links) end
  return true
end

--- An INVALID error unless `scope` is nil or one of process.registry.LOCAL / CLUSTER.
local function check_scope(where, scope)
  if scope == nil or scope == 'local' or scope == 'cluster' then return nil end
  local shown = tostring(scope)
  if #shown > 64 then shown = shown:sub(1, 64) .. '…' end
  return invalid(where, 'unknown name scope "' .. shown .. '" (process.registry.LOCAL or process.registry.CLUSTER)')
end

function process.registry.register(name, pid, scope)
  local where = 'process.registry.register'
  local err = check_name(where, name)
  if err == nil and pid ~= nil then err = check_destination(where, pid) end
  if err == nil then err = check_scope(where, scope) end
  if err ~= nil then return nil, err end
  return result(host.register(name, pid, scope))
end

function process.registry.lookup(name)
  local err = check_name('process.registry.lookup', name)
  if err ~= nil then return nil, err end
  return result(host.lookup(name))
end

function process.registry.unregister(name, scope)
  local where = 'process.registry.unregister'
  local err = check_name(where, name) or check_scope(where, scope)
  if err ~= nil then return nil, err end
  local value, kind, message = settled(host.unregister(name, scope))
  -- Releasing a name nobody holds answers false (and why), as in Wippy: not a failure.
  if value == false and kind == 'NOT_FOUND' then return false, make_error(kind, message) end
  return result(value, kind, message)
end

--- The address of the process holding local name `name` on node `node`, "{node@|name}" (never
--- a PID nor a name): mail to it is kept in the node's mail while the node restarts and goes
--- to whichever process holds the name when the node takes it.
function process.registry.on_node(name, node)
  local where = 'process.registry.on_node'
  local err = check_name(where, name)
  if err ~= nil then return nil, err end
  if type(node) ~= 'string' or not node:match('^[%w_-]+$') then
    return nil, invalid(where, 'node must be a node name (letters, digits, "_" and "-"), got ' .. tostring(node):sub(1, 64))
  end
  return '{' .. node .. '@|' .. name .. '}'
end

--- Restarts this process with `entry` (nil = its own entry, at the current registry version),
--- keeping its PID, mailbox, links and name.
function process.upgrade(entry, ...)
  if entry ~= nil and type(entry) ~= 'string' then error('process.upgrade expects an entry ID or nil', 2) end
  if entry ~= nil then
    local err = too_long('process.upgrade', 'entry', entry, LIMITS.reference)
    if err ~= nil then return nil, err end
  end
  local args, err = encode_payload(...)
  if args == nil then return nil, err end
  local ok, kind, message = host.upgrade(entry, args)
  if ok == false then return nil, make_error(kind, message) end
  error(rt.TERMINATED, 0)
end

-- Spawners: immutable values that carry context, options, a name and startup messages. -------

local Spawner = {}
local SPAWNER_MT = { __index = Spawner, __name = 'spawner', __metatable = false }

-- What each spawner carries (context, options, name, name_scope, messages), kept by the kernel:
-- fields written into a spawner are not read (they could hand a spawn reserved topics, or
-- payloads that are not encodings).
local SPECS = setmetatable({}, { __mode = 'k' })
rt.share(SPECS)

local function spec_of(spawner) return SPECS[spawner] or {} end

local function with(spawner, key, value)
  local copy = setmetatable({}, SPAWNER_MT)
  local spec = {}
  for k, v in next, spec_of(spawner) do spec[k] = v end
  spec[key] = value
  SPECS[copy] = spec
  return copy
end

function Spawner:with_context(values)
  return with(self, 'context', rt.merged_fields(spec_of(self).context, values, 'with_context', 2))
end
function Spawner:with_options(options)
  return with(self, 'options', rt.merged_fields(spec_of(self).options, options, 'with_options', 2))
end

function Spawner:with_name(name, scope)
  if type(name) ~= 'string' or name == '' then error('with_name expects a non-empty string', 2) end
  local err = check_name('with_name', name) or check_scope('with_name', scope)
  if err ~= nil then error(err, 2) end
  return with(with(self, 'name', name), 'name_scope', scope)
end

function Spawner:with_message(topic, ...)
  if type(topic) ~= 'string' then error('with_message expects a topic string, got ' .. type(topic), 2) end
  local topic_err = check_topic('with_message', topic)
  if topic_err ~= nil then error(topic_err, 2) end
  local payload, err = encode_payload(...)
  if payload == nil then error(err, 2) end
  local messages = {}
  local held = spec_of(self).messages
  if held ~= nil then for i = 1, #held do messages[i] = held[i] end end
  messages[#messages + 1] = { topic, payload }
  return with(self, 'messages', messages)
end

local MONITOR, LINK = 1, 2

local function spawn(self, flags, exec_channel, entry, target, ...)
  if type(entry) ~= 'string' then return nil, make_error('INVALID', 'spawn: entry must be an entry ID string', false) end
  if type(target) ~= 'string' then return nil, make_error('INVALID', 'spawn: host must be an entry ID string', false) end
  local too_big = too_long('spawn', 'entry', entry, LIMITS.reference)
    or too_long('spawn', 'host', target, LIMITS.reference)
  if too_big ~= nil then return nil, too_big end
  local args, err = encode_payload(...)
  if args == nil then return nil, err end
  -- A plain spawn (the common case) carries no spec at all.
  local spec
  local fields = SPECS[self]
  if fields ~= nil then
    local ok, encoded = pcall(codec.encode, fields)
    if not ok then return nil, make_error('INVALID', 'spawn: ' .. tostring(encoded), false) end
    spec = encoded
  end
  return result(host.spawn(entry, target, flags, spec, args, exec_channel))
end

function Spawner:spawn(entry, target, ...) return spawn(self, 0, nil, entry, target, ...) end
function Spawner:spawn_monitored(entry, target, ...) return spawn(self, MONITOR, nil, entry, target, ...) end
function Spawner:spawn_linked(entry, target, ...) return spawn(self, LINK, nil, entry, target, ...) end
function Spawner:spawn_linked_monitored(entry, target, ...)
  return spawn(self, MONITOR | LINK, nil, entry, target, ...)
end

local function as_outcome(status, bytes)
  local value = codec.decode(bytes)
  if status == 'ok' then return { value = value } end
  return { error = value }
end

--- Runs the entry as a child and waits for it to end: its value, or nil and its error.
function Spawner:exec(entry, target, ...)
  local ch = new_fed_channel('exec', as_outcome)
  local pid, err = spawn(self, 0, rt.fed_id_of(ch), entry, target, ...)
  if pid == nil then return nil, err end
  local outcome = ch:receive()
  return outcome.value, outcome.error
end

local EMPTY = setmetatable({}, SPAWNER_MT)
for _, name in ipairs({ 'spawn', 'spawn_monitored', 'spawn_linked', 'spawn_linked_monitored', 'exec' }) do
  process[name] = function(...) return EMPTY[name](EMPTY, ...) end
end

-- A spawn with no spawner values (the commonest), past spawn's layers: a host call that reads
-- only the entry, the host and the arguments (nil: none), and checks the entry and the host
-- itself. `true` back means one of them is not a string of a reference's size: spawn checks
-- everything again and says which. (Spawns are hot: the layers cost about 7% of one, the
-- values and the checks the plain call leaves out some 4%.)
local spawn_plain = host.spawn_plain
function process.spawn(entry, target, ...)
  local pid, kind, message
  if select('#', ...) == 0 then
    pid, kind, message = spawn_plain(entry, target)
  else
    -- The entry and the host are checked before the arguments are encoded, as spawn does.
    if type(entry) ~= 'string' or type(target) ~= 'string' or #entry > REFERENCE or #target > REFERENCE then
      return spawn(EMPTY, 0, nil, entry, target, ...)
    end
    local args, err = encode_payload(...)
    if args == nil then return nil, err end
    pid, kind, message = spawn_plain(entry, target, args)
  end
  if type(pid) == 'string' then return pid end
  if pid == true then return spawn(EMPTY, 0, nil, entry, target, ...) end
  return result(pid, kind, message)
end

function process.with_context(values) return EMPTY:with_context(values) end
function process.with_options(options) return EMPTY:with_options(options) end
function process.with_name(name, scope) return EMPTY:with_name(name, scope) end
function process.with_message(topic, ...) return EMPTY:with_message(topic, ...) end

rt.as_outcome = as_outcome
return process
