-- hash (docs/lua-api/hash.md): md5, sha1, sha256, sha512 and their HMACs → hex text (raw bytes
-- when asked); fnv32, fnv64 → integers. The host computes; here only the argument checks and the
-- error objects (a non-string is nil, err of kind INVALID, as in Wippy, not a raised error).
local host, rt = ...
local type, ipairs = type, ipairs
local digest, hmac = host.digest, host.hmac

local function not_a_string(fn, argument, value)
  return nil, rt.make_error('INVALID',
    'hash.' .. fn .. ': ' .. argument .. ' must be a string, got ' .. type(value), false)
end

local hash = {}

for _, algorithm in ipairs({ 'md5', 'sha1', 'sha256', 'sha512' }) do
  hash[algorithm] = function(data, raw)
    if type(data) ~= 'string' then return not_a_string(algorithm, 'data', data) end
    return digest(algorithm, data, raw and true or false)
  end

  local name = 'hmac_' .. algorithm
  hash[name] = function(data, secret, raw)
    if type(data) ~= 'string' then return not_a_string(name, 'data', data) end
    if type(secret) ~= 'string' then return not_a_string(name, 'secret', secret) end
    return hmac(algorithm, data, secret, raw and true or false)
  end
end

for _, name in ipairs({ 'fnv32', 'fnv64' }) do
  local compute = host[name]
  hash[name] = function(data)
    if type(data) ~= 'string' then return not_a_string(name, 'data', data) end
    return compute(data)
  end
end

return hash
