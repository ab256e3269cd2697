-- logger (docs/lua-api/logger.md): structured log records tagged with the process.
--
-- The module is the root logger; `with` and `named` make child loggers that add fields or a
-- dotted name (the `logger` field) to each record. Each logger's functions are bound to it, so
-- they work called with a dot or a colon (logger.info(msg) and logger:info(msg)): a first
-- argument that is a logger is the colon's `self` and is skipped.
local host, rt = ...

local log, encode = host.log, rt.codec.encode
local type, error, setmetatable, getmetatable, pairs =
  type, error, setmetatable, getmetatable, pairs

local LEVELS = { 'debug', 'info', 'warn', 'error' }

-- Child loggers carry this metatable (getmetatable shows its name); the root is the module.
local CHILD_MT = { __metatable = 'logger' }
local root_with

local function is_logger(value)
  return type(value) == 'table' and (getmetatable(value) == 'logger' or value.with == root_with)
end

local function copy_into(out, fields)
  if fields ~= nil then for k, v in pairs(fields) do out[k] = v end end
  return out
end

-- A logger for `state` ({ fields?, name? }): its level functions, `with` and `named`.
local function new_logger(state)
  local logger = {}

  -- A call's fields over the logger's own (the call's win), then the logger's name.
  local function record_fields(fields)
    if state.fields == nil and state.name == nil then return fields end
    local out = copy_into(copy_into({}, state.fields), fields)
    if state.name ~= nil then out.logger = state.name end
    return out
  end

  for _, level in ipairs(LEVELS) do
    logger[level] = function(message, fields, extra)
      if is_logger(message) then message, fields = fields, extra end
      if type(message) ~= 'string' then
        error('logger.' .. level .. ' expects a message string', 2)
      end
      if fields ~= nil and type(fields) ~= 'table' then
        error('logger.' .. level .. ': fields must be a table', 2)
      end
      fields = record_fields(fields)
      log(level, message, fields ~= nil and encode(fields) or nil)
    end
  end

  --- with(fields): a logger whose records carry `fields` (under each call's own).
  function logger.with(fields, extra)
    if is_logger(fields) then fields = extra end
    if type(fields) ~= 'table' then error('logger.with expects a table of fields', 2) end
    local own = copy_into(copy_into({}, state.fields), fields)
    return setmetatable(new_logger({ fields = own, name = state.name }), CHILD_MT)
  end

  --- named(name): a logger whose records carry `logger = name` (parent.name when nested).
  function logger.named(name, extra)
    if is_logger(name) then name = extra end
    if type(name) ~= 'string' or name == '' then
      error('logger.named expects a non-empty name string', 2)
    end
    local full = state.name and state.name .. '.' .. name or name
    return setmetatable(new_logger({ fields = state.fields, name = full }), CHILD_MT)
  end

  return logger
end

local root = new_logger({})
root_with = root.with
return root
