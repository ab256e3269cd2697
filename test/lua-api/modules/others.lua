-- ctx, logger, env, and modules a process may not have (docs/lua-api/ctx.md, logger.md, env.md).
local t = require("t")
local ctx = require("ctx")
local logger = require("logger")
local env = require("env")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

local function reads_context()
  local user, user_err = ctx.get("user")
  local missing, missing_err = ctx.get("no_such_key")
  return { user = user, user_err = user_err, missing = missing, missing_err = missing_err, all = ctx.all() }
end

-- Tests -------------------------------------------------------------------------------------

local function ctx_get_and_all()
  local seen = t.check("exec", process.with_context({ user = "ada", limits = { max = 3 } }):exec("reads_context", HOST))
  t.eq(seen.user, "ada", "ctx.get('user')")
  t.is_nil(seen.user_err, "ctx.get('user') error")
  t.is_nil(seen.missing, "ctx.get of a missing key")
  t.is_error(seen.missing_err, nil, "ctx.get of a missing key returns an error")
  t.eq(seen.all, { user = "ada", limits = { max = 3 } }, "ctx.all()")
  t.eq(ctx.all(), {}, "ctx.all() of a process without context")
  t.fails("ctx.get without context", ctx.get("user"))
  t.is_error(t.fails("ctx.get of an empty key", ctx.get("")), errors.INVALID, "its kind")
end

local function logger_calls_do_not_fail()
  t.runs(function()
    logger.debug("lua_api: a debug record")
    logger.info("lua_api: an info record", { test = "logger_calls_do_not_fail", n = 1 })
    logger.warn("lua_api: a warning", { nested = { list = { 1, 2 } } })
    logger.error("lua_api: an error record", { err = "not a real error" })
  end, "logger.debug/info/warn/error")
end

local function logger_colon_calls_with_and_named()
  local child = t.runs(function()
    logger:info("lua_api: a colon call", { test = "logger_colon_calls_with_and_named" })
    local c = logger:with({ component = "lua_api" })
    c:warn("lua_api: from a child logger")
    c.debug("lua_api: a child's dot call")
    c:named("sub"):named("leaf"):error("lua_api: from a named logger", { n = 1 })
    return c
  end, "logger:info, logger:with, logger:named")
  t.type(child, "table", "logger:with returns a logger")
  t.type(child.info, "function", "a child logger's info")
  t.raises(function() logger:named("") end, "non-empty name", "logger:named('')")
  t.raises(function() logger:with("x") end, "table of fields", "logger:with('x')")
  t.raises(function() child:info(42) end, "message string", "child:info(42)")
end

local function env_get_returns_the_value_of_an_env_variable_entry()
  local value, err = env.get("lua_api:greeting")
  t.is_nil(err, "env.get error")
  t.eq(value, "hello from the registry", "the default of lua_api:greeting (LUACT_LUA_API_TEST_GREETING is unset)")
  local ok, missing, missing_err = pcall(env.get, "lua_api:no_such_variable")
  t.ok(ok, "env.get of an unknown entry returns instead of raising (raised " .. t.show(missing) .. ")")
  t.fails("env.get of an unknown entry", missing, missing_err)
end

local function the_workflow_module_is_only_for_workflows()
  local name = "work" .. "flow"
  local ok, err = pcall(require, name)
  t.eq(ok, false, "requiring the workflow module in a process")
  t.contains(tostring(err), name, "the error names the module")
end

return {
  reads_context = reads_context,
  ctx_get_and_all = ctx_get_and_all,
  logger_calls_do_not_fail = logger_calls_do_not_fail,
  logger_colon_calls_with_and_named = logger_colon_calls_with_and_named,
  env_get_returns_the_value_of_an_env_variable_entry = env_get_returns_the_value_of_an_env_variable_entry,
  the_workflow_module_is_only_for_workflows = the_workflow_module_is_only_for_workflows,
}
