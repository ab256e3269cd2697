-- uuid (docs/lua-api/uuid.md): generators, name-based UUIDs and inspection → lowercase strings.
local host, rt = ...
return rt.libs.uuid({
  random_bytes = host.random_bytes,
  now_ms = host.now_ms,
  new_error = function(kind, message) return rt.make_error(rt.errors[kind], message, false) end,
})
