-- The environment user code runs in (docs/lua-api/README.md).
--
-- All processes of a host share one Lua state, so everything they can reach in common must be
-- read-only: standard libraries and built-in modules are exposed through proxies that refuse
-- writes and never hand out the table behind them (not to pairs, next, rawget or getmetatable),
-- `rawset` refuses them too, and the string metatable is hidden. Each entry gets one
-- environment table with the standard globals, its allowed modules and its imports; each
-- process gets an empty table inheriting from it, so the globals a process writes are its own.
--
-- No process may run code as another: finalizers (__gc) would run in whichever process
-- happens to be running when the collector gets to them, so a metatable with __gc is refused.
-- Standard functions whose cost grows without Lua instructions, or that call user code from C,
-- are replaced by their bounded, preemptible versions from the builtins library.
local host, rt = ...

local setmetatable, getmetatable, rawset, rawget, type, error, pairs, next =
  setmetatable, getmetatable, rawset, rawget, type, error, pairs, next
local load, tostring = load, tostring

local TERMINATED = host.TERMINATED
local PROTECTED = setmetatable({}, { __mode = 'k' })
rt.share(PROTECTED)

--- A read-only view of `source` (iteration with pairs works, writes raise).
local function readonly(source, name)
  local proxy
  -- The iterator closes over `source`: handing out `next, source` would hand out the table.
  local function iterate(_, key) return next(source, key) end
  proxy = setmetatable({}, {
    __index = source,
    __newindex = function(_, key)
      error('attempt to modify read-only ' .. name .. ' (field ' .. tostring(key) .. ')', 2)
    end,
    __pairs = function() return iterate, proxy, nil end,
    __len = function() return #source end,
    __metatable = false,
  })
  PROTECTED[proxy] = true
  return proxy
end
rt.readonly = readonly
--- Makes rawset refuse `t` (a table every process of a host shares).
function rt.protect(t) PROTECTED[t] = true end

local function copy(source, names)
  local out = {}
  for _, name in ipairs(names) do out[name] = source[name] end
  return out
end

local MAX_STRING = 64 * 1024 * 1024
-- Compiling is C work without instructions: a chunk's size bounds it.
local MAX_CHUNK = 4 * 1024 * 1024
-- os.date runs strftime once per conversion of its format.
local MAX_DATE_FORMAT = 4096

-- A pattern search may take this many steps of the pure-Lua matcher (seconds of preemptible
-- work) before it fails, saying the pattern is too costly for its subject.
local MAX_PATTERN_STEPS = 100000000

local builtins = rt.libs.builtins()({
  TERMINATED = TERMINATED,
  patterns = rt.libs.patterns({ max_steps = MAX_PATTERN_STEPS, error = error, share = rt.share }),
  sort = rt.libs.sort({ error = error }).sort,
  max_string = MAX_STRING,
  max_chunk = MAX_CHUNK,
  create_table = host.create_table,
  text_of = function(value) return rt.is_error(value) and tostring(value) or nil end,
})
rt.builtins = builtins

local string_lib = copy(string, {
  'byte', 'char', 'len', 'lower', 'pack', 'packsize', 'reverse', 'sub', 'unpack', 'upper',
})
for name, fn in pairs(builtins.string) do string_lib[name] = fn end

-- The string metatable is shared by every string of every process: hide it, and let method
-- calls on strings ("x"):rep(n) reach the same functions as string.rep.
local string_mt = getmetatable('')
string_mt.__metatable = false
string_mt.__index = string_lib

local table_lib = copy(table, { 'concat', 'pack', 'unpack' })
for name, fn in pairs(builtins.table) do table_lib[name] = fn end

local native_date = os.date
local os_lib = copy(os, { 'time', 'clock', 'difftime' })
function os_lib.date(format, time)
  if type(format) == 'string' and #format > MAX_DATE_FORMAT then
    error('os.date: a format of ' .. #format .. ' bytes is over the limit of ' .. MAX_DATE_FORMAT, 2)
  end
  return native_date(format, time)
end

-- math.random is the engine's generator, shared by the processes of a host and seeded at random
-- when the host starts. math.randomseed gives the calling process a generator of its own
-- instead of reseeding the shared one: no process may steer another's random numbers.
local math_lib = copy(math, {
  'abs', 'ceil', 'cos', 'deg', 'exp', 'floor', 'fmod', 'huge', 'log', 'max', 'maxinteger',
  'min', 'mininteger', 'modf', 'pi', 'rad', 'sin', 'sqrt', 'tan', 'tointeger', 'type', 'ult',
  'atan', 'acos', 'asin',
})
local native_random, new_generator = math.random, builtins.new_generator
-- Until a process of the host seeds one, every process uses the shared generator.
local any_seeded = false
local GROUP_STATE = rt.GROUP_STATE

function math_lib.random(m, n)
  if any_seeded then
    local _, group = rt.fiber()
    local state = GROUP_STATE[group]
    local own = state and state.random
    if own then return own(m, n) end
  end
  return native_random(m, n)
end

function math_lib.randomseed(seed, ...)
  if seed == nil then seed = native_random(0) end
  if type(seed) ~= 'number' then
    error("bad argument #1 to 'randomseed' (number expected, got " .. type(seed) .. ')', 2)
  end
  local _, group = rt.fiber()
  rt.group_state(group).random = new_generator(seed)
  any_seeded = true
end

--- setmetatable, refusing finalizers: __gc would run user code as whichever process happens
--- to be running when the collector reaches the object (docs/isolation.md).
local function sandboxed_setmetatable(t, mt)
  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then
    error('setmetatable: __gc finalizers are not available (they would run inside other processes)', 2)
  end
  return setmetatable(t, mt)
end

local base = {
  _VERSION = _VERSION,
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, select = select,
  tonumber = tonumber, tostring = builtins.tostring, type = type, getmetatable = getmetatable,
  setmetatable = sandboxed_setmetatable, rawequal = rawequal, rawget = rawget, rawlen = rawlen,
  pcall = builtins.pcall,
  xpcall = builtins.xpcall,
  rawset = function(t, k, v)
    if PROTECTED[t] then error('attempt to modify a read-only table', 2) end
    return rawset(t, k, v)
  end,
  collectgarbage = function(opt)
    if opt == nil or opt == 'count' then return collectgarbage('count') end
    error('collectgarbage: only "count" is available', 2)
  end,
  string = readonly(string_lib, 'string'),
  table = readonly(table_lib, 'table'),
  math = readonly(math_lib, 'math'),
  utf8 = readonly(copy(utf8, { 'char', 'charpattern', 'codes', 'codepoint', 'len', 'offset' }), 'utf8'),
  os = readonly(os_lib, 'os'),
  print = function(...)
    local n = select('#', ...)
    local parts = { ... }
    -- builtins' tostring: a __tostring that loops is preempted, as anywhere in user code.
    for i = 1, n do parts[i] = builtins.tostring(parts[i]) end
    host.print(table.concat(parts, '\t', 1, n))
  end,
}
rt.base_globals = base

--- A read-only view of a module table, and of every plain table inside it (process.event,
--- process.registry, …): all of them are shared by the processes of a host. Objects inside it
--- (json.null) keep their metatable, which must refuse new fields; rawset refuses them all.
local function deep_readonly(source, name)
  if PROTECTED[source] then return source end
  for key, value in pairs(source) do
    if type(value) == 'table' then
      if getmetatable(value) == nil then
        source[key] = deep_readonly(value, name .. '.' .. tostring(key))
      else
        PROTECTED[value] = true
      end
    end
  end
  return readonly(source, name)
end

-- Global tables that code written for Wippy also lists under modules: or requires by name:
-- listing one is allowed, and require hands over the global. Lua's own libraries here, and
-- every table added with rt.add_global (process, channel, coroutine, errors, …); the ones every
-- entry has are GLOBAL_MODULES in src/vm/global-modules.ts, for the checks before Lua runs.
local GLOBAL_MODULES = { string = true, table = true, math = true, utf8 = true, os = true }

--- Globals every process sees (process, channel, coroutine, errors, print) are added here.
function rt.add_global(name, value)
  base[name] = type(value) == 'table' and deep_readonly(value, name) or value
  if type(value) == 'table' then GLOBAL_MODULES[name] = true end
end

-- Built-in modules by name, each instantiated once per host and shared read-only.
local MODULES = {}
function rt.add_module(name, module)
  MODULES[name] = deep_readonly(module, name)
end
function rt.has_module(name) return MODULES[name] ~= nil end
function rt.builtin_module(name) return MODULES[name] end

local read_chunk, chunk_name = builtins.read_chunk, builtins.chunk_name

local function make_load(entry_env)
  -- Text chunks only, of a bounded size, read from a reader function where it can be
  -- preempted; without an explicit environment a chunk gets a fresh one of its own.
  return function(chunk, name, mode, env)
    if mode ~= nil and mode ~= 't' then return nil, 'load: only text chunks are allowed' end
    local text = chunk
    if type(chunk) == 'function' then
      local err
      text, err = read_chunk(chunk)
      if text == nil then return nil, err end
    elseif type(chunk) ~= 'string' then
      return nil, 'load expects a string or a function'
    elseif #chunk > MAX_CHUNK then
      return nil, 'load: a chunk of ' .. #chunk .. ' bytes is over the limit of ' .. MAX_CHUNK .. ' bytes'
    end
    return load(text, chunk_name(name, chunk), 't',
      env or setmetatable({}, { __index = entry_env, __metatable = false }))
  end
end

--- Builds what one registry entry runs with: its environment (standard globals, allowed
--- modules through require, imported libraries) and the metatable its processes' globals use.
--- `imports` maps alias → prepared library entry.
function rt.prepare_entry(id, chunk, modules, imports)
  local allowed = {}
  for _, name in ipairs(modules) do
    if MODULES[name] ~= nil then
      allowed[name] = true
    elseif not GLOBAL_MODULES[name] then
      error('entry ' .. id .. ': unknown module "' .. name .. '"', 0)
    end
  end
  local env = {}
  for k, v in pairs(base) do env[k] = v end
  local entry = { id = id, chunk = chunk, env = env, imports = imports }
  env.load = make_load(env)
  env.require = function(name)
    if allowed[name] then return MODULES[name] end
    if GLOBAL_MODULES[name] and env[name] ~= nil then return env[name] end
    local library = imports[name]
    if library == nil then
      error('module "' .. tostring(name) .. '" is not available to ' .. id ..
        ' (list it under modules: or imports:)', 2)
    end
    local _, group = rt.fiber()
    local state = rt.group_state(group)
    local instances = state.libraries
    if instances == nil then
      instances = {}
      state.libraries = instances
    end
    local instance = instances[library]
    if instance == nil then
      local library_env = setmetatable({}, library.env_mt)
      instance = library.chunk(library_env)
      -- An imported function.lua may return its one function.
      if type(instance) ~= 'table' and type(instance) ~= 'function' then
        error('library ' .. library.id .. ' returned ' .. type(instance) ..
          ', expected a table or a function', 2)
      end
      instances[library] = instance
    end
    return instance
  end
  entry.env_mt = { __index = env, __metatable = false }
  PROTECTED[env] = true
  return entry
end

rt.add_global('channel', rt.channel)
rt.add_global('coroutine', rt.coroutine)
rt.add_global('errors', rt.errors)
rt.add_global('payload', rt.payload)
