-- base64 (docs/lua-api/base64.md): encode(bytes) → text; decode(text) → bytes | nil, err.
-- The coding itself is the host's; here only the argument checks and the error objects.
local host, rt = ...
local type = type
local host_encode, host_decode = host.encode, host.decode

local function invalid(message)
  return nil, rt.make_error('INVALID', message, false)
end

local base64 = {}

function base64.encode(data)
  if type(data) ~= 'string' then
    return invalid('base64.encode: data must be a string, got ' .. type(data))
  end
  return host_encode(data)
end

function base64.decode(data)
  if type(data) ~= 'string' then
    return invalid('base64.decode: data must be a string, got ' .. type(data))
  end
  local decoded, problem = host_decode(data)
  if decoded == nil then return invalid('base64.decode: ' .. problem) end
  return decoded
end

return base64
