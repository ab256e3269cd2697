-- logger (docs/lua-api/logger.md): structured log records tagged with the process.
local host, rt = ...

local log, encode, type, error = host.log, rt.codec.encode, type, error

local function level(name)
  return function(message, fields)
    if type(message) ~= 'string' then error('logger.' .. name .. ' expects a message string', 2) end
    if fields ~= nil and type(fields) ~= 'table' then
      error('logger.' .. name .. ': fields must be a table', 2)
    end
    log(name, message, fields ~= nil and encode(fields) or nil)
  end
end

return { debug = level('debug'), info = level('info'), warn = level('warn'), error = level('error') }
