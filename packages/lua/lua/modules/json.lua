-- json (docs/lua-api/json.md): encode(v) → string | nil, err; decode(s) → v | nil, err.
local host, rt = ...
return rt.libs.json({
  new_error = function(kind, message) return rt.make_error(rt.errors[kind], message, false) end,
  array_mt = rt.ARRAY_MT,
})
