-- uuid (docs/lua-api/uuid.md): v4() and v7() → canonical lowercase strings.
local host, rt = ...
return rt.libs.uuid({
  random_bytes = host.random_bytes,
  now_ms = host.now_ms,
})
