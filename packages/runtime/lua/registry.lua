-- registry (docs/lua-api/registry.md): the node's registry entries, its kept versions, and
-- change sets applied as a whole. Reads answer at once; apply and apply_version wait until the
-- node has applied (or refused) the change.
local host, rt = ...
-- Every comparison of a value user code made with one of the module's own tables is raw: `==`
-- would run a `__eq` the value's metatable planted, handing it that table (which every process
-- of the host shares).
local rawequal = rawequal

local codec, make_error, block = rt.codec, rt.make_error, rt.block
local setmetatable, raw_getmetatable, type, error, tostring, ipairs, pairs, math_type, find, sub =
  setmetatable, debug.getmetatable, type, error, tostring, ipairs, pairs, math.type, string.find,
  string.sub

--- `nil, err` for a host answer `false, kind, message, details`.
local function failure(kind, message, details)
  return nil, make_error(kind, message, false, details and codec.decode(details))
end

local function decoded(value, kind, message, details)
  if value == false then return failure(kind, message, details) end
  return codec.decode(value)
end

--- Waits for the answer of a token (see process.lua: the fiber blocks until it comes).
local ANSWER_WAIT = {
  __index = function(wait, key)
    if key ~= 'done' then return nil end
    local value, kind, message, details = host.settle(wait.token)
    if value == nil then return false end
    wait.value, wait.kind, wait.message, wait.details = value, kind, message, details
    return true
  end,
}
local function awaited(first, kind, message, details)
  if math_type(first) ~= 'integer' then return first, kind, message, details end
  local wait = setmetatable({ token = first }, ANSWER_WAIT)
  block(wait, nil)
  return wait.value, wait.kind, wait.message, wait.details
end

local function check_string(value, what)
  if type(value) ~= 'string' then error(what .. ' expects a string, got ' .. type(value), 3) end
end

local function check_table(value, what)
  if type(value) ~= 'table' then error(what .. ' expects a table, got ' .. type(value), 3) end
end

-- Version --------------------------------------------------------------------------------

local Version = {}
Version.__index = Version
Version.__name = 'registry.Version'

local function version_of(id)
  if id == nil then return nil end
  return setmetatable({ _id = id }, Version)
end

function Version:id() return self._id end
function Version:string() return 'v' .. self._id end
function Version:previous() return version_of(decoded(awaited(host.previous(self._id)))) end
function Version:next() return version_of(decoded(awaited(host.next(self._id)))) end
function Version.__tostring(v) return 'Version(v' .. v._id .. ')' end
function Version.__eq(a, b) return a._id == b._id end

--- The version number a Version object or an integer stands for.
local function version_number(value, what)
  if rawequal(raw_getmetatable(value), Version) then return value._id end
  if math_type(value) == 'integer' then return value end
  error(what .. ' expects a registry version (a Version or an integer)', 3)
end

-- Changes --------------------------------------------------------------------------------

local Changes = {}
Changes.__index = Changes
Changes.__name = 'registry.Changes'

local function check_entry(entry, what)
  check_table(entry, what)
  if type(entry.id) ~= 'string' then error(what .. ': the entry needs a string id', 3) end
  if type(entry.kind) ~= 'string' then error(what .. ': entry ' .. entry.id .. ' needs a string kind', 3) end
end

function Changes:create(entry)
  check_entry(entry, 'changes:create')
  self._ops[#self._ops + 1] = { kind = 'entry.create', entry = entry }
  return self
end

function Changes:update(entry)
  check_entry(entry, 'changes:update')
  self._ops[#self._ops + 1] = { kind = 'entry.update', entry = entry }
  return self
end

--- delete("ns:name") or delete{ns = …, name = …}
function Changes:delete(id)
  if type(id) == 'table' and type(id.ns) == 'string' and type(id.name) == 'string' then
    id = id.ns .. ':' .. id.name
  end
  if type(id) ~= 'string' then error('changes:delete expects an entry ID or {ns = …, name = …}', 2) end
  self._ops[#self._ops + 1] = { kind = 'entry.delete', entry = { id = id } }
  return self
end

function Changes:ops()
  local copy = {}
  for i, op in ipairs(self._ops) do copy[i] = { kind = op.kind, entry = op.entry } end
  return copy
end

--- Applies every operation or none; the new current Version, or nil, err.
function Changes:apply()
  if #self._ops == 0 then return nil, make_error('INVALID', 'no changes to apply', false) end
  local value, kind, message, details = awaited(host.apply(codec.encode(self._ops)))
  if value == false then return failure(kind, message, details) end
  return version_of(codec.decode(value))
end

function Changes.__tostring(c) return 'Changes(' .. #c._ops .. ' ops)' end

-- Snapshot -------------------------------------------------------------------------------

local Snapshot = {}
Snapshot.__index = Snapshot
Snapshot.__name = 'registry.Snapshot'

local function snapshot_of(version)
  return setmetatable({ _version = version }, Snapshot)
end

function Snapshot:version() return version_of(self._version) end
function Snapshot:entries() return decoded(awaited(host.list(self._version))) end
function Snapshot:namespace(ns)
  check_string(ns, 'snapshot:namespace')
  return decoded(awaited(host.list(self._version, ns)))
end
function Snapshot:get(id)
  check_string(id, 'snapshot:get')
  return decoded(awaited(host.get(self._version, id)))
end
function Snapshot:find(criteria)
  check_table(criteria, 'snapshot:find')
  return decoded(awaited(host.find(self._version, codec.encode(criteria))))
end
--- A change set to build; it applies to the registry as it is when applied.
function Snapshot:changes() return setmetatable({ _ops = {} }, Changes) end
function Snapshot.__tostring(s) return 'Snapshot(v' .. s._version .. ')' end

--- The snapshot of a kept version, or nil, err.
local function kept_snapshot(version)
  local ok, kind, message = awaited(host.kept(version))
  if ok == false then return failure(kind, message) end
  return snapshot_of(version)
end

-- History --------------------------------------------------------------------------------

local function all_versions()
  local list = decoded(awaited(host.versions()))
  for i, id in ipairs(list) do list[i] = version_of(id) end
  return list
end

local History = {}
History.__index = History
History.__name = 'registry.History'

function History:versions() return all_versions() end
function History:get_version(id)
  if math_type(id) ~= 'integer' or id < 1 then
    return nil, make_error('INVALID', 'history:get_version expects a version number of at least 1, got ' .. tostring(id), false)
  end
  local ok, kind, message = awaited(host.kept(id))
  if ok == false then return failure(kind, message) end
  return version_of(id)
end
function History:snapshot_at(version)
  return kept_snapshot(version_number(version, 'history:snapshot_at'))
end
function History.__tostring() return 'History(' .. #decoded(awaited(host.versions())) .. ' versions)' end

-- Module ---------------------------------------------------------------------------------

local registry = {}

function registry.get(id)
  check_string(id, 'registry.get')
  return decoded(awaited(host.get(0, id)))
end

function registry.find(criteria)
  check_table(criteria, 'registry.find')
  return decoded(awaited(host.find(0, codec.encode(criteria))))
end

--- "ns:name" → {ns, name}, split at the first colon; no colon: ns is "".
function registry.parse_id(id)
  check_string(id, 'registry.parse_id')
  local colon = find(id, ':', 1, true)
  if colon == nil then return { ns = '', name = id } end
  return { ns = sub(id, 1, colon - 1), name = sub(id, colon + 1) }
end

function registry.snapshot() return snapshot_of(decoded(awaited(host.current()))) end

function registry.snapshot_at(version)
  if math_type(version) ~= 'integer' or version < 1 then
    return nil, make_error('INVALID', 'registry.snapshot_at expects a version number of at least 1, got ' .. tostring(version), false)
  end
  return kept_snapshot(version)
end

function registry.current_version() return version_of(decoded(awaited(host.current()))) end
function registry.versions() return all_versions() end
function registry.history() return setmetatable({}, History) end

--- Makes a kept version current again (back or forward); true, or false, err.
function registry.apply_version(version)
  local id = version_number(version, 'registry.apply_version')
  local value, kind, message, details = awaited(host.apply_version(id))
  if value == false then
    local _, err = failure(kind, message, details)
    return false, err
  end
  return true
end

--- Whether two values are equal, tables compared field by field.
local function same(a, b)
  if a == b then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then return false end
  for key, value in pairs(a) do
    if not same(value, b[key]) then return false end
  end
  for key in pairs(b) do
    if a[key] == nil then return false end
  end
  return true
end

--- The entries of a list by ID, or nil, err naming the list and the entry that is wrong.
local function by_id(list, what)
  if type(list) ~= 'table' then
    return nil, make_error('INVALID', 'registry.build_delta: ' .. what .. ' must be a list of entries, got ' .. type(list), false)
  end
  local index = {}
  for i, entry in ipairs(list) do
    if type(entry) ~= 'table' or type(entry.id) ~= 'string' then
      return nil, make_error('INVALID', 'registry.build_delta: ' .. what .. '[' .. i .. '] is not an entry with a string id', false)
    end
    if index[entry.id] ~= nil then
      return nil, make_error('INVALID', 'registry.build_delta: ' .. what .. ' has ' .. entry.id .. ' twice', false)
    end
    index[entry.id] = entry
  end
  return index
end

--- The operations that turn the entries `from` into `to`: creates and updates in the order of
--- `to`, then deletes in the order of `from`. An entry is updated when its kind, meta or data
--- differ.
function registry.build_delta(from, to)
  local old, err = by_id(from, 'from')
  if old == nil then return nil, err end
  local new, err2 = by_id(to, 'to')
  if new == nil then return nil, err2 end
  local ops = {}
  for _, entry in ipairs(to) do
    local before = old[entry.id]
    if before == nil then
      ops[#ops + 1] = { kind = 'entry.create', entry = entry }
    elseif not (same(before.kind, entry.kind) and same(before.meta, entry.meta) and same(before.data, entry.data)) then
      ops[#ops + 1] = { kind = 'entry.update', entry = entry }
    end
  end
  for _, entry in ipairs(from) do
    if new[entry.id] == nil then ops[#ops + 1] = { kind = 'entry.delete', entry = entry } end
  end
  return ops
end

return registry
