-- Type values in every entry's globals (docs/lua-api/types.md): the constructors compiled type
-- declarations call (the global __luact_types), the casts Wippy has as globals (integer(x),
-- number(x), boolean(x)) and `string`, still the string library, callable as string(x).
-- All of them are shared by the processes of a host, so all of them are read-only.
local host, rt = ...

local setmetatable, error, tostring, pairs = setmetatable, error, tostring, pairs

local types = rt.libs.types({
  pattern_test = host.type_pattern_test,
  validators = rt.libs.type_validators,
  make_error = rt.make_error,
  is_error = rt.is_error,
})

local base = rt.base_globals
for _, t in pairs(types.builtin) do rt.protect(t) end
types.builtin = rt.readonly(types.builtin, '__luact_types.builtin')
base.__luact_types = rt.readonly(types, '__luact_types')
base.integer = types.builtin.integer
base.number = types.builtin.number
base.boolean = types.builtin.boolean

local library = base.string
local cast, as_string = types.cast, types.builtin.string
local callable_string = setmetatable({}, {
  __index = library,
  __newindex = function(_, key)
    error('attempt to modify read-only string (field ' .. tostring(key) .. ')', 2)
  end,
  __pairs = function() return pairs(library) end,
  __len = function() return #library end,
  __call = function(_, value) return cast(as_string, value) end,
  __metatable = false,
})
rt.protect(callable_string)
base.string = callable_string
