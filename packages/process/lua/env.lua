-- env (LUA_API.md § Other modules): values of env.variable entries.
local host, rt = ...

local make_error, type, error = rt.make_error, type, error

return {
  get = function(name)
    if type(name) ~= 'string' then error('env.get expects an entry name', 2) end
    local value, kind, message = host.get(name)
    if value == false then return nil, make_error(kind, message) end
    return value
  end,
}
