-- The codec every value crosses processes with: msgpack, with error objects as ext type 1 and
-- payloads (kernel/payload.lua) as ext type 2, their value's msgpack (the same mapping as
-- src/codec/wire.ts on the TypeScript side, where a payload reads as its value).
local host, rt = ...

local ERROR_EXT, PAYLOAD_EXT = 1, 2
local raw_getmetatable = debug.getmetatable
-- Ext types modules add (rt.add_codec_ext): by the metatable of their values, and by type.
local EXT_OF_MT, DECODE_EXT = {}, {}
local codec
codec = rt.libs.msgpack()({
  encode_ext = function(value)
    if rt.is_error(value) then return ERROR_EXT, codec.encode(rt.error_data(value)) end
    if rt.is_payload(value) then return PAYLOAD_EXT, codec.encode(rt.payload_value(value)) end
    local ext = EXT_OF_MT[raw_getmetatable(value)]
    if ext ~= nil then return ext.type, ext.encode(value) end
    return nil
  end,
  decode_ext = function(ext_type, payload)
    if ext_type == PAYLOAD_EXT then return rt.new_payload(codec.decode(payload)) end
    local decode = DECODE_EXT[ext_type]
    if decode ~= nil then return decode(payload) end
    if ext_type ~= ERROR_EXT then error('msgpack: unknown ext type ' .. ext_type, 0) end
    local data = codec.decode(payload)
    local kind = data.kind
    return rt.make_error(type(kind) == 'string' and kind or 'UNKNOWN', tostring(data.message),
      data.retryable, data.details, nil)
  end,
})
rt.codec = codec

--- For fields of a call or a spawn (`with_context`, `with_options`) that `what` merges into
--- one table: a copy of `base` (or none) with `extra`'s fields over it; raises, naming the key,
--- for a key that is not a string (TypeScript would get a map, not fields) at `level`.
function rt.merged_fields(base, extra, what, level)
  if type(extra) ~= 'table' then error(what .. ' expects a table', level + 1) end
  local out = {}
  if base ~= nil then for k, v in next, base do out[k] = v end end
  for k, v in next, extra do
    if type(k) ~= 'string' then
      error(what .. ': keys must be strings, got ' .. type(k) .. ' key ' .. tostring(k), level + 1)
    end
    out[k] = v
  end
  return out
end

--- Values whose metatable is `mt` cross processes as msgpack ext `ext_type`: encode(value) gives
--- the payload string, decode(payload) the value again (a module's userdata, e.g. time's Time).
function rt.add_codec_ext(mt, ext_type, encode, decode)
  EXT_OF_MT[mt] = { type = ext_type, encode = encode }
  DECODE_EXT[ext_type] = decode
end

-- Marks a table as a JSON array (so an empty one encodes as []). Shared by every process, so
-- getmetatable hands out a name instead of the table.
rt.ARRAY_MT = { __name = 'array', __metatable = 'json.array' }
