-- env (docs/lua-api/env.md): values of env.variable entries.
local host, rt = ...

local make_error, type, error = rt.make_error, type, error

return {
  get = function(name)
    if type(name) ~= 'string' then error('env.get expects an entry name', 2) end
    -- LIMITS: see process.lua.
    if #name > LIMITS.reference then
      return nil, make_error('INVALID', 'env.get: name of ' .. #name .. ' bytes exceeds the limit of ' .. LIMITS.reference .. ' bytes', false)
    end
    local value, kind, message = host.get(name)
    if value == false then return nil, make_error(kind, message) end
    return value
  end,
}
