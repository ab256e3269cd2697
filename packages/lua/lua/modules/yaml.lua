-- yaml (docs/lua-api/yaml.md): encode(table, options?) → text | nil, err;
-- decode(text) → value | nil, err. Values cross to the host as msgpack; the YAML itself is the
-- host's. Bad arguments are INVALID; text that is not YAML is INTERNAL, as in Wippy.
local host, rt = ...
local type, pcall, ipairs = type, pcall, ipairs
local gsub = string.gsub
local pack, unpack = rt.codec.encode, rt.codec.decode
local host_encode, host_decode = host.encode, host.decode

local function failure(kind, message)
  return nil, rt.make_error(kind, message, false)
end

-- field_order as a list of strings, or nil and what is wrong with the options.
local function field_order_of(options)
  if options == nil then return nil end
  if type(options) ~= 'table' then
    return nil, 'options must be a table, got ' .. type(options)
  end
  local sort = options.sort_unordered
  if sort ~= nil and type(sort) ~= 'boolean' then
    return nil, 'options.sort_unordered must be a boolean, got ' .. type(sort)
  end
  local order = options.field_order
  if order == nil then return nil end
  if type(order) ~= 'table' then
    return nil, 'options.field_order must be a list of strings, got ' .. type(order)
  end
  for i, key in ipairs(order) do
    if type(key) ~= 'string' then
      return nil, 'options.field_order[' .. i .. '] must be a string, got ' .. type(key)
    end
  end
  return order
end

local yaml = {}

function yaml.encode(data, options)
  if type(data) ~= 'table' then
    return failure('INVALID', 'yaml.encode: data must be a table, got ' .. type(data))
  end
  local order, problem = field_order_of(options)
  if problem ~= nil then return failure('INVALID', 'yaml.encode: ' .. problem) end
  local ok, packed = pcall(pack, data)
  if not ok then
    -- "…: msgpack: cannot encode a function (at key 'x')" → the part after "msgpack: "
    return failure('INVALID', 'yaml.encode: ' .. gsub(packed, '^.-msgpack: ', ''))
  end
  local plain = options ~= nil and options.sort_unordered == true
  local text, why = host_encode(packed, order and pack(order) or nil, plain)
  if text == nil then return failure('INTERNAL', 'yaml.encode: ' .. why) end
  return text
end

function yaml.decode(data)
  if type(data) ~= 'string' then
    return failure('INVALID', 'yaml.decode: data must be a string, got ' .. type(data))
  end
  if data == '' then return failure('INVALID', 'yaml.decode: data is empty') end
  local packed, why = host_decode(data)
  if packed == nil then return failure('INTERNAL', 'yaml.decode: ' .. why) end
  return unpack(packed)
end

return yaml
