-- env storages and variables (docs/lua-api/env.md), declared in env.yaml.
local t = require("t")
local env = require("env")

local function env_get_by_public_name_and_by_entry_id()
  local path = t.check("env.get('PATH')", env.get("PATH"))
  t.eq(env.get("path"), path, "by entry ID in the caller's namespace")
  t.eq(env.get("lua_api.env:path"), path, "by full entry ID")
  t.eq(env.get("LUA_API_ENV_REGION"), "eu", "through the router, from the static storage")
  t.is_error(t.fails("an unknown name", env.get("LUA_API_ENV_NOTHING")), errors.NOT_FOUND)
  t.is_error(t.fails("a private variable without a value", env.get("secret")), errors.NOT_FOUND)
  t.is_error(t.fails("an empty name", env.get("")), errors.INVALID)
end

local function env_set_through_a_router_shadows_the_later_storages()
  t.eq(env.set("LUA_API_ENV_REGION", "us"), true, "env.set through the router")
  t.eq(env.get("LUA_API_ENV_REGION"), "us", "the memory value comes first")
  t.eq(env.get("LUA_API_ENV_FIXED_REGION"), "none", "the static storage is unchanged")
  t.eq(env.set("LUA_API_ENV_COUNTER", 41), true, "a number is stored as text")
  t.eq(env.get("LUA_API_ENV_COUNTER"), "41", "read back")
  t.eq(env.set("lua_api.env:secret", "s3cret"), true, "a private variable by entry ID")
  t.eq(env.get("secret"), "s3cret", "read back by its name in the namespace")
end

local function env_set_refuses_read_only_variables_and_storages()
  local locked = t.fails("a read-only variable", env.set("LUA_API_ENV_LOCKED", "changed"))
  t.is_error(locked, errors.PERMISSION_DENIED)
  t.eq(locked:message(), "env variable LUA_API_ENV_LOCKED (lua_api.env:locked) is read-only", "its message")
  t.eq(env.get("LUA_API_ENV_LOCKED"), "fixed", "unchanged")
  local os_storage = t.fails("the OS storage", env.set("PATH", "/nowhere"))
  t.is_error(os_storage, errors.PERMISSION_DENIED)
  t.eq(os_storage:message(), "env storage lua_api.env:os (env.storage.os) is read-only", "its message")
  t.is_error(t.fails("the static storage", env.set("LUA_API_ENV_FIXED_REGION", "x")), errors.PERMISSION_DENIED)
  t.is_error(t.fails("an unknown variable", env.set("LUA_API_ENV_NOTHING", "x")), errors.NOT_FOUND)
end

local function env_get_all_has_the_public_variables_only()
  local all = t.check("env.get_all()", env.get_all())
  t.eq(all.PATH, env.get("PATH"), "PATH is declared")
  t.eq(all.LUA_API_ENV_LOCKED, "fixed", "defaults count")
  t.is_nil(all.HOME, "an undeclared OS variable")
  t.is_nil(all.secret, "a private variable")
  t.is_nil(all["lua_api.env:secret"], "a private variable by ID")
end

return {
  env_get_by_public_name_and_by_entry_id = env_get_by_public_name_and_by_entry_id,
  env_set_through_a_router_shadows_the_later_storages = env_set_through_a_router_shadows_the_later_storages,
  env_set_refuses_read_only_variables_and_storages = env_set_refuses_read_only_variables_and_storages,
  env_get_all_has_the_public_variables_only = env_get_all_has_the_public_variables_only,
}
