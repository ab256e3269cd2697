-- types: the run-time values of Wippy's typed Lua (docs/lua-api/types.md).
--
-- A `type X = …` declaration compiles (src/dialect/type-lua.ts) to a call of these
-- constructors, run when the chunk runs: X becomes a type value. A type value is an empty
-- table whose own metatable holds what it describes (user code cannot reach it: __metatable
-- is false), with methods through __index:
--   X:is(v)   -> v | nil, message   v checked against X, validators included
--   X(v)      -> v                  the same check; a failure raises an INVALID error object
--   X:name(), X:kind()              reflection: the declared name, what kind of type it is
--
-- Loaded as a chunk called with one argument, a table of dependencies:
--   deps.pattern_test(pattern, subject) -> boolean | nil, message   a regular expression test
--   deps.validators                     -> the type_validators library (not yet instantiated)
--   deps.make_error(kind, message)      -> an error object
--   deps.is_error(v)                    -> whether v is an error object
-- and returning the table of constructors (the global the compiled declarations use).
--
-- A check returns nothing when the value matches, else (path, message): path is where in the
-- value it failed ("roles[1]", "meta.env", nil for the value itself). Nothing is allocated
-- while a value matches; messages are built only for failures.
local deps = ...

local type, tostring, next, error, setmetatable, select, ipairs, unpack =
  type, tostring, next, error, setmetatable, select, ipairs, table.unpack
local math_type, floor, tointeger, huge = math.type, math.floor, math.tointeger, math.huge
local format, concat = string.format, table.concat
local meta_of = debug.getmetatable
local pattern_test, make_error, is_error = deps.pattern_test, deps.make_error, deps.is_error

local M = {}
local METHODS = {}
local CHECK = {}

local function refuse_write(_, key)
  error('attempt to modify a type value (field ' .. tostring(key) .. ')', 2)
end

local display

--- T(v) (M.cast, below): a tail call, so a failure is raised at the caller's line.
local function call_type(t, v)
  return M.cast(t, v)
end

--- A new type value describing `m` (m.kind and what that kind needs).
local function new_type(m)
  m.__index = METHODS
  m.__newindex = refuse_write
  m.__metatable = false
  m.__name = 'type'
  m.__tostring = display
  m.__call = call_type
  m.is_type = true
  local t = setmetatable({}, m)
  m.type_value = t -- for reflection: the type value of a part (a field's type, an element's)
  return t
end

--- What a type value describes; nil for anything else.
local function description(value)
  if type(value) ~= 'table' then return nil end
  local m = meta_of(value)
  if m ~= nil and m.is_type == true then return m end
  return nil
end

local function check(m, v)
  return CHECK[m.kind](m, v)
end

local validators_lib -- made below, when `shown` is defined

-- Messages -------------------------------------------------------------------------------------

local function shown(v)
  local t = type(v)
  if t == 'string' then
    if #v > 40 then return format('%q', v:sub(1, 37) .. '...') end
    return format('%q', v)
  end
  if t == 'number' or t == 'boolean' or t == 'nil' then return tostring(v) end
  return t
end

local function joined(list, separator)
  local parts = {}
  for i = 1, #list do parts[i] = display(list[i]) end
  return concat(parts, separator)
end

--- A type as people write it: its name if it has one, else its structure.
function display(value)
  local m = description(value) or value
  if m.name ~= nil then return m.name end
  local kind = m.kind
  if kind == 'literal' then return shown(m.value) end
  if kind == 'optional' then return display(m.inner) .. '?' end
  if kind == 'union' then return joined(m.members, ' | ') end
  if kind == 'intersection' then return joined(m.members, ' & ') end
  if kind == 'validated' then return display(m.inner) end
  if kind == 'lazy' then return m.target and display(m.target) or m.text end
  if kind == 'table' then
    local parts = {}
    for i = 1, #m.fields do
      local f = m.fields[i]
      parts[#parts + 1] = f.name .. (f.optional and '?: ' or ': ') .. display(f.type)
    end
    for i = 1, #m.indexers do
      local x = m.indexers[i]
      parts[#parts + 1] = '[' .. display(x.key) .. ']: ' .. display(x.value)
    end
    if m.element ~= nil then parts[#parts + 1] = display(m.element) end
    return '{' .. concat(parts, ', ') .. '}'
  end
  return kind
end

local function mismatch(m, v)
  return nil, 'expected ' .. display(m) .. ', got ' .. shown(v)
end

--- `segment` in front of a failure's path: "meta" + "env" is "meta.env", "roles" + "[1]"...
local function inside(segment, path)
  if path == nil then return segment end
  if path:sub(1, 1) == '[' then return segment .. path end
  return segment .. '.' .. path
end

local function key_segment(key)
  if type(key) == 'string' and key:match('^[%a_][%w_]*$') then return key end
  return '[' .. shown(key) .. ']'
end

validators_lib = deps.validators({ pattern_test = pattern_test, shown = shown })

-- Built-in types ------------------------------------------------------------------------------

local BUILTIN = {}

local function builtin(name, kind, lua_type)
  BUILTIN[name] = new_type({ kind = kind, name = name, lua_type = lua_type })
end

CHECK.any = function() end
CHECK.never = mismatch
CHECK.lua = function(m, v)
  if type(v) ~= m.lua_type then return mismatch(m, v) end
end
CHECK.integer = function(m, v)
  local t = math_type(v)
  if t == 'integer' then return end
  if t == 'float' and v == floor(v) and v ~= huge and v ~= -huge then return end
  return mismatch(m, v)
end
CHECK.error = function(m, v)
  if type(v) ~= 'string' and not is_error(v) then return mismatch(m, v) end
end

builtin('any', 'any')
builtin('unknown', 'any')
builtin('never', 'never')
builtin('integer', 'integer')
builtin('error', 'error')
for _, name in ipairs({ 'boolean', 'number', 'string', 'table', 'function', 'userdata', 'thread' }) do
  builtin(name, 'lua', name)
end
M.builtin = BUILTIN

-- Constructors ----------------------------------------------------------------------------------

CHECK.literal = function(m, v)
  if v ~= m.value or type(v) ~= type(m.value) then return mismatch(m, v) end
end

function M.literal(value)
  return new_type({ kind = 'literal', value = value })
end

CHECK.optional = function(m, v)
  if v ~= nil then return check(m.inner, v) end
end

function M.optional(inner)
  return new_type({ kind = 'optional', inner = description(inner) })
end

local function descriptions(list)
  local out = {}
  for i = 1, #list do out[i] = description(list[i]) end
  return out
end

--- The table type `m` stands for (through names), if it is one.
local function table_type(m)
  while m ~= nil do
    local kind = m.kind
    if kind == 'table' then return m end
    if kind ~= 'alias' and kind ~= 'lazy' then return nil end
    m = m.target
  end
  return nil
end

--- Whether table `v` has the values of the literal fields of table type `t` (its tag).
local function tagged_as(t, v)
  local tagged = false
  for i = 1, #t.fields do
    local f = t.fields[i]
    if f.type.kind == 'literal' then
      if v[f.name] ~= f.type.value then return false end
      tagged = true
    end
  end
  return tagged
end

--- In a tagged union ({kind: "a", …} | {kind: "b", …}), the one member whose tag `v` has.
local function tagged_member(members, v)
  local chosen = nil
  for i = 1, #members do
    local t = table_type(members[i])
    if t ~= nil and tagged_as(t, v) then
      if chosen ~= nil then return nil end
      chosen = members[i]
    end
  end
  return chosen
end

CHECK.union = function(m, v)
  local members = m.members
  for i = 1, #members do
    local _, failed = check(members[i], v)
    if failed == nil then return end
  end
  -- A value tagged as one member is told what is wrong with it as that member.
  local member = type(v) == 'table' and tagged_member(members, v) or nil
  if member ~= nil then return check(member, v) end
  return mismatch(m, v)
end

function M.union(members)
  return new_type({ kind = 'union', members = descriptions(members) })
end

CHECK.intersection = function(m, v)
  local members = m.members
  for i = 1, #members do
    local path, failed = check(members[i], v)
    if failed ~= nil then return path, failed end
  end
end

function M.intersection(members)
  return new_type({ kind = 'intersection', members = descriptions(members) })
end

--- The indexer whose key type `key` matches, if any.
local function indexer_for(indexers, key)
  for i = 1, #indexers do
    local _, failed = check(indexers[i].key, key)
    if failed == nil then return indexers[i] end
  end
  return nil
end

local function check_entries(m, v, n)
  local indexers, named, element = m.indexers, m.named, m.element
  -- Only an array type (no fields, no key types) says what other keys may not be there.
  local array_only = element ~= nil and #indexers == 0 and #m.fields == 0
  for key, value in next, v do
    local listed = named[key] ~= nil
      or (element ~= nil and math_type(key) == 'integer' and key >= 1 and key <= n)
    if not listed then
      local indexer = indexer_for(indexers, key)
      if indexer ~= nil then
        local path, failed = check(indexer.value, value)
        if failed ~= nil then return inside(key_segment(key), path), failed end
      elseif array_only then
        return key_segment(key), 'not an index of ' .. display(m) .. ' (an array has keys 1..n)'
      elseif #indexers > 0 and #m.fields == 0 then
        return key_segment(key), 'expected a key of type ' .. joined(m.indexer_keys, ' | ') ..
          ', got ' .. shown(key)
      end
    end
  end
end

CHECK.table = function(m, v)
  if type(v) ~= 'table' then return mismatch(m, v) end
  local fields = m.fields
  for i = 1, #fields do
    local f = fields[i]
    local value = v[f.name]
    if value == nil then
      if not f.optional then
        return f.name, 'missing (expected ' .. display(f.type) .. ')'
      end
    else
      local path, failed = check(f.type, value)
      if failed ~= nil then return inside(f.name, path), failed end
    end
  end
  local n = 0
  local element = m.element
  if element ~= nil then
    n = #v
    for i = 1, n do
      local path, failed = check(element, v[i])
      if failed ~= nil then return inside('[' .. i .. ']', path), failed end
    end
  end
  if #m.indexers > 0 or (element ~= nil and #fields == 0) then return check_entries(m, v, n) end
end

--- A table type: fields {{name, type, optional}, …}, indexers {{key, value}, …} and the type of
--- its elements 1..n (nil when it has none).
function M.table(field_list, indexer_list, element)
  local fields, named, indexers, keys = {}, {}, {}, {}
  for i = 1, #field_list do
    local f = field_list[i]
    fields[i] = { name = f[1], type = description(f[2]), optional = f[3] }
    named[f[1]] = true
  end
  for i = 1, #indexer_list do
    local x = indexer_list[i]
    indexers[i] = { key = description(x[1]), value = description(x[2]) }
    keys[i] = indexers[i].key
  end
  return new_type({
    kind = 'table', fields = fields, named = named, indexers = indexers, indexer_keys = keys,
    element = element and description(element),
  })
end

CHECK.validated = function(m, v)
  local path, failed = check(m.inner, v)
  if failed ~= nil then return path, failed end
  local validators = m.validators
  for i = 1, #validators do
    local rule = validators[i]
    failed = validators_lib.run(rule[1], rule[2], v)
    if failed ~= nil then return nil, failed end
  end
end

--- `inner` with validators {{name, argument}, …}: a bad argument fails the declaration.
function M.validated(inner, list)
  for i = 1, #list do
    local name, arg = list[i][1], list[i][2]
    if not validators_lib.known(name) then error('unknown validator @' .. tostring(name), 2) end
    local problem = validators_lib.problem(name, arg)
    if problem ~= nil then error('type validator @' .. name .. ' ' .. problem, 2) end
  end
  return new_type({ kind = 'validated', inner = description(inner), validators = list })
end

-- Names, generics and types known only later ----------------------------------------------------

--- A type read when a value is first checked against it (a type containing itself, one not
--- known when declared): `resolve()` gives a type value or nil.
CHECK.lazy = function(m, v)
  local target = m.target
  if target == nil then
    target = description(m.resolve())
    if target == nil then return nil, 'type ' .. m.text .. ' is not known at run time' end
    m.target = target
  end
  return check(target, v)
end

local function lazy(text, resolve)
  return new_type({ kind = 'lazy', text = text, resolve = resolve })
end

--- The type `name` inside its own declaration (read when a value is checked).
function M.itself(name, get)
  return lazy(name, get)
end

--- The type `name` declared further down the chunk, kept in `scope` when its declaration runs.
function M.later(name, scope)
  return lazy(name, function() return scope[name] end)
end

--- A type that cannot be known at run time (`typeof` of an expression).
function M.unresolved(text)
  return lazy(text, function() return nil end)
end

--- The type at `root.field…` (named `text`): a type value, or a lazy one when it is nil now.
function M.ref(text, root, ...)
  local value = root
  for i = 1, select('#', ...) do
    if type(value) ~= 'table' then
      value = nil
      break
    end
    value = value[(select(i, ...))]
  end
  if value == nil then return lazy(text, function() return nil end) end
  if description(value) == nil then
    error('type ' .. text .. ' is a ' .. type(value) .. ' value, not a type', 2)
  end
  return value
end

CHECK.alias = function(m, v)
  return check(m.target, v)
end

--- `type name = t`: t itself when it has no name yet, else a new name for it.
function M.define(name, t)
  local m = description(t)
  if m.name == nil and m.kind ~= 'lazy' then
    m.name = name
    return t
  end
  return new_type({ kind = 'alias', name = name, target = m })
end

--- A generic type: `count` parameters, their defaults (nil: any), and `build(...)` making the
--- type for given arguments. Checked without arguments, the defaults are its arguments.
CHECK.generic = function(m, v)
  local instance = m.instance
  if instance == nil then
    instance = description(m.build_with({}))
    m.instance = instance
  end
  return check(instance, v)
end

function M.generic(name, count, defaults, build)
  local m = { kind = 'generic', name = name }
  function m.build_with(args)
    local full = {}
    for i = 1, count do full[i] = args[i] or defaults[i] or BUILTIN.any end
    local t = build(unpack(full, 1, count))
    return M.define(name, t)
  end
  return new_type(m)
end

--- `t<args…>`: a generic type's instance; a lazy one when t is not known yet.
function M.apply(t, args)
  local m = description(t)
  if m.kind == 'generic' then return m.build_with(args) end
  if m.kind == 'lazy' then
    return lazy(m.text, function()
      local target = description(m.resolve())
      if target == nil or target.kind ~= 'generic' then return nil end
      return target.build_with(args)
    end)
  end
  error('type ' .. display(m) .. ' takes no type arguments', 2)
end

-- Methods -----------------------------------------------------------------------------------------

local function failure(path, message)
  if path == nil then return message end
  return path .. ': ' .. message
end

function METHODS:is(v)
  local m = description(self)
  if m == nil then error("bad self to 'is' (call it as T:is(value))", 2) end
  local path, failed = check(m, v)
  if failed ~= nil then return nil, failure(path, failed) end
  return v
end

--- T(v): v when it matches (an integral float as an integer for integer), else an INVALID
--- error raised at the caller's line.
function M.cast(t, v)
  local m = description(t)
  local path, failed = check(m, v)
  if failed ~= nil then
    error(make_error('INVALID', 'cannot cast to ' .. display(m) .. ': ' .. failure(path, failed)), 2)
  end
  if m.kind == 'integer' then return tointeger(v) end
  return v
end

function METHODS:name()
  local m = description(self)
  return m and m.name
end

local KIND_NAMES = {
  any = 'any', never = 'never', integer = 'integer', error = 'error', literal = 'literal',
  optional = 'optional', union = 'union', intersection = 'intersection', generic = 'generic',
}

--- What `self` is underneath its names, validators and late resolution (nil when unknown).
local function structure(self)
  local m = description(self)
  while m ~= nil do
    local kind = m.kind
    if kind == 'alias' then
      m = m.target
    elseif kind == 'validated' then
      m = m.inner
    elseif kind == 'lazy' then
      m = m.target or description(m.resolve())
    else
      return m
    end
  end
  return nil
end

function METHODS:kind()
  local m = structure(self)
  if m == nil then return 'unknown' end
  if m.kind == 'lua' then return m.lua_type end
  if m.kind == 'table' then
    if #m.fields > 0 then return 'record' end
    if #m.indexers > 0 then return 'map' end
    return 'array'
  end
  return KIND_NAMES[m.kind]
end

local function part(m, key)
  local value = m ~= nil and m[key]
  return value and value.type_value or nil
end

--- An iterator over `list`, giving what `each(item)` gives for each item.
local function iterate(list, each)
  local i = 0
  return function()
    i = i + 1
    local item = list[i]
    if item ~= nil then return each(item) end
  end
end

local NONE = {}

--- for name, type in T:fields() (a record's fields, in declared order).
function METHODS:fields()
  local m = structure(self)
  local fields = m ~= nil and m.kind == 'table' and m.fields or NONE
  return iterate(fields, function(f) return f.name, f.type.type_value end)
end

--- for type in T:variants() (a union's members).
function METHODS:variants()
  local m = structure(self)
  local members = m ~= nil and m.kind == 'union' and m.members or NONE
  return iterate(members, function(member) return member.type_value end)
end

--- An array's element type.
function METHODS:elem() return part(structure(self), 'element') end

--- A map's key and value types (its first key type, when it has several).
function METHODS:key()
  local m = structure(self)
  return m ~= nil and m.indexers ~= nil and part(m.indexers[1], 'key') or nil
end

function METHODS:val()
  local m = structure(self)
  return m ~= nil and m.indexers ~= nil and part(m.indexers[1], 'value') or nil
end

--- An optional type's inner type.
function METHODS:inner()
  local m = structure(self)
  return m ~= nil and m.kind == 'optional' and part(m, 'inner') or nil
end

M.is_type = function(value) return description(value) ~= nil end

return M
