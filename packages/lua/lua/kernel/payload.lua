-- Payloads (docs/lua-api/payload.md): a value and the format it is held in. payload.new wraps a
-- Lua value (format lua/any; an error object is golang/error, Wippy's name for it); transcode
-- turns it into JSON, YAML, MessagePack, text or bytes and back; data() is the Lua value
-- whatever the format. funcs futures hand out the results of calls as payloads made here.
local host, rt = ...
local setmetatable, type, tostring, pcall, error = setmetatable, type, tostring, pcall, error
local codec, is_error, make_error = rt.codec, rt.is_error, rt.make_error

local FORMAT = {
  JSON = 'json/plain',
  YAML = 'yaml/plain',
  STRING = 'text/plain',
  BYTES = 'application/octet-stream',
  MSGPACK = 'application/msgpack',
  LUA = 'lua/any',
  GOLANG = 'golang/any',
  ERROR = 'golang/error',
}

local json = rt.libs.json({
  new_error = function(kind, message) return make_error(rt.errors[kind], message, false) end,
  array_mt = rt.ARRAY_MT,
})

--- The yaml module, when the host has one (looked up when first needed: it is installed
--- after the kernel).
local function yaml()
  local module = rt.builtin_module('yaml')
  if module == nil then return nil, 'this host has no yaml module' end
  return module
end

--- Bytes are held as they are: only a string has that form.
local function as_bytes(value)
  if type(value) == 'string' then return value end
  return nil, 'a ' .. type(value) .. ' is not a string'
end

--- Text: a string, or a number or boolean as Lua writes it, nil as "" (as Wippy does).
local TEXT_OF = { number = tostring, boolean = tostring, ['nil'] = function() return '' end }
local function as_text(value)
  local text_of = TEXT_OF[type(value)]
  if text_of ~= nil then return text_of(value) end
  return as_bytes(value)
end

--- Per format: the Lua value of what is held (`from`), and what a Lua value is held as
--- (`to`). Each returns the result, or nil and why not.
local CODECS = {
  [FORMAT.LUA] = {
    from = function(held) return held end,
    to = function(value) return value end,
  },
  [FORMAT.ERROR] = {
    from = function(held) return held end,
    to = function(value)
      if is_error(value) then return value end
      return nil, 'only an error object is held as ' .. FORMAT.ERROR
    end,
  },
  [FORMAT.JSON] = {
    from = function(text)
      local value, err = json.decode(text)
      if err ~= nil then return nil, err:message() end
      return value
    end,
    to = function(value)
      local text, err = json.encode(value)
      if text == nil then return nil, err:message() end
      return text
    end,
  },
  [FORMAT.YAML] = {
    from = function(text)
      local module, missing = yaml()
      if module == nil then return nil, missing end
      local value, err = module.decode(text)
      if err ~= nil then return nil, err:message() end
      return value
    end,
    to = function(value)
      local module, missing = yaml()
      if module == nil then return nil, missing end
      local text, err = module.encode(value)
      if text == nil then return nil, err:message() end
      return text
    end,
  },
  [FORMAT.MSGPACK] = {
    from = function(bytes)
      local ok, value = pcall(codec.decode, bytes)
      if not ok then return nil, tostring(value) end
      return value
    end,
    to = function(value)
      local ok, bytes = pcall(codec.encode, value)
      if not ok then return nil, tostring(bytes) end
      return bytes
    end,
  },
  [FORMAT.STRING] = { from = as_bytes, to = as_text },
  [FORMAT.BYTES] = { from = as_bytes, to = as_bytes },
}

local Payload = {}
-- Which tables are payloads: weak, so a payload no longer used is collected.
local PAYLOADS = setmetatable({}, { __mode = 'k' })
rt.share(PAYLOADS)
local PAYLOAD_MT = {
  __index = Payload,
  __name = 'payload',
  __metatable = false,
  __tostring = function(p) return 'payload{format=' .. p._format .. '}' end,
}

local function make(format, held)
  local p = setmetatable({ _format = format, _held = held }, PAYLOAD_MT)
  PAYLOADS[p] = true
  return p
end

local function check(self, method)
  if PAYLOADS[self] == nil then
    error('payload:' .. method .. ' called on a ' .. type(self) .. ', not a payload (use p:' ..
      method .. '(), with a colon)', 3)
  end
end

local function failed(what, reason)
  return nil, make_error('INTERNAL', 'payload: ' .. what .. ': ' .. reason, false)
end

function Payload:get_format()
  check(self, 'get_format')
  return self._format
end

--- The Lua value, decoded from the format it is held in; nil and an INTERNAL error when it
--- does not decode.
function Payload:data()
  check(self, 'data')
  local value, reason = CODECS[self._format].from(self._held)
  if reason ~= nil then return failed('reading ' .. self._format, reason) end
  return value
end

function Payload:unmarshal()
  check(self, 'unmarshal')
  return self:data()
end

--- The same value held in `format` (one of payload.format); this payload when it already is.
function Payload:transcode(format)
  check(self, 'transcode')
  local target = CODECS[format]
  if target == nil then
    if format == FORMAT.GOLANG then
      return failed('transcoding to ' .. format, "Go's in-memory values have no form in luact")
    end
    return nil, make_error('INVALID', 'payload:transcode: unknown format ' ..
      (type(format) == 'string' and '"' .. format .. '"' or type(format)) ..
      ' (use one of payload.format)', false)
  end
  if format == self._format then return self end
  local value, err = self:data()
  if err ~= nil then return nil, err end
  local held, reason = target.to(value)
  if reason ~= nil then
    return failed('transcoding ' .. self._format .. ' to ' .. format, reason)
  end
  return make(format, held)
end

function rt.is_payload(value) return PAYLOADS[value] ~= nil end

--- What a payload sent to another process carries: its value (it arrives as a payload of it).
function rt.payload_value(p)
  local value, err = p:data()
  if err ~= nil then error('cannot send a payload that does not read: ' .. err:message(), 0) end
  return value
end

--- A payload of a Lua value, as funcs futures yield them; a payload (one a function returned) is
--- itself.
function rt.new_payload(value)
  if PAYLOADS[value] ~= nil then return value end
  return make(is_error(value) and FORMAT.ERROR or FORMAT.LUA, value)
end

rt.payload = {
  format = FORMAT,
  new = function(value) return rt.new_payload(value) end,
}
