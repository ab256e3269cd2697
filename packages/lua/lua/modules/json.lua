-- json (docs/lua-api/json.md): encode(v) → string, decode(s) → v, err.
local host, rt = ...
return rt.libs.json({
  new_error = function(kind, message) return rt.make_error(kind, message, false) end,
  array_mt = rt.ARRAY_MT,
})
