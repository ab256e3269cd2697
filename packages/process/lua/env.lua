-- env (docs/lua-api/env.md): values of env.variable entries, kept in env storages. On a worker
-- thread the answers come from the node's main thread: `settled` (put ahead of this file by
-- processLua) waits for them.
local host, rt = ...

local codec, make_error, type, error, tostring = rt.codec, rt.make_error, type, error, tostring

local function check_name(where, name)
  if type(name) ~= 'string' then error(where .. ' expects a variable name', 3) end
  if name == '' then return make_error('INVALID', where .. ': the name is empty', false) end
  -- LIMITS: see process.lua.
  if #name > LIMITS.reference then
    return make_error('INVALID', where .. ': name of ' .. #name .. ' bytes exceeds the limit of ' .. LIMITS.reference .. ' bytes', false)
  end
end

return {
  get = function(name)
    local err = check_name('env.get', name)
    if err ~= nil then return nil, err end
    local value, kind, message = settled(host.get(name))
    if value == false then return nil, make_error(kind, message) end
    return value
  end,

  set = function(name, value)
    local err = check_name('env.set', name)
    if err ~= nil then return nil, err end
    if type(value) == 'number' then value = tostring(value) end
    if type(value) ~= 'string' then error('env.set expects a string value', 2) end
    local ok, kind, message = settled(host.set(name, value))
    if ok == false then return nil, make_error(kind, message) end
    return true
  end,

  get_all = function()
    local all, kind, message = settled(host.get_all())
    if all == false then error(make_error(kind, message), 2) end
    return codec.decode(all)
  end,
}
