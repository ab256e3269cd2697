-- ctx (docs/lua-api/ctx.md): the context values a process was spawned or called with.
local host, rt = ...

local codec, make_error, type, error = rt.codec, rt.make_error, type, error

return {
  get = function(key)
    if type(key) ~= 'string' then error('ctx.get expects a string key', 2) end
    if key == '' then return nil, make_error('INVALID', 'ctx.get: the key is empty', false) end
    -- LIMITS: see process.lua. No context key is longer.
    if #key > LIMITS.name then
      return nil, make_error('INVALID', 'ctx.get: key of ' .. #key .. ' bytes exceeds the limit of ' .. LIMITS.name .. ' bytes', false)
    end
    local bytes = host.get(key)
    if bytes == nil then return nil, make_error('NOT_FOUND', 'no context value "' .. key .. '"', false) end
    return codec.decode(bytes)
  end,
  all = function()
    return codec.decode(host.all())
  end,
}
