-- The sandbox (docs/lua-api/README.md): what a script can and cannot reach.
local t = require("t")
local time = require("time")
local counter = require("counter")

local HOST = "lua_api:processes"

-- Child processes ---------------------------------------------------------------------------

--- Reports the globals it finds, then writes its own, and (with `wait`) keeps running until told.
local function writes_globals(label, wait)
  local found = { marker = marker, lua_api_marker = lua_api_marker, string_is_table = type(string) == "table" }
  marker = label
  _G.lua_api_marker = label
  string = nil
  if wait then process.inbox():receive() end
  return found
end

--- Bumps its own instance of the counter library.
local function bumps_the_counter(times)
  local last
  for _ = 1, times do last = counter.bump() end
  return last
end

-- Write attempts on tables every process of a host shares, by group. Each group runs in a
-- child on a host of its own: a write that wrongly succeeds must not disturb other tests.
local WRITES = {
  standard = {
    ["string.x = 1"] = function() string.x = 1 end,
    ["string.upper = nil"] = function() string.upper = nil end,
    ["table.insert = nil"] = function() table.insert = nil end,
    ["math.pi = 3"] = function() math.pi = 3 end,
    ["os.time = nil"] = function() os.time = nil end,
    ["utf8.char = nil"] = function() utf8.char = nil end,
    ["rawset(string, 'x', 1)"] = function() rawset(string, "x", 1) end,
    ["setmetatable(string, {})"] = function() setmetatable(string, {}) end,
  },
  builtins = {
    ["process.send = nil"] = function() process.send = nil end,
    ["process.event.EXIT = 'x'"] = function() process.event.EXIT = "x" end,
    ["process.registry.lookup = f"] = function() process.registry.lookup = function() return "x" end end,
    ["channel.new = nil"] = function() channel.new = nil end,
    ["coroutine.spawn = nil"] = function() coroutine.spawn = nil end,
    ["errors.NOT_FOUND = 'x'"] = function() errors.NOT_FOUND = "x" end,
    ["time.sleep = nil"] = function() time.sleep = nil end,
  },
  string_metatable = {
    ["getmetatable('').__index.shout = f"] = function()
      getmetatable("").__index.shout = function(s) return s:upper() .. "!" end
    end,
    ["getmetatable('').__index = t"] = function() getmetatable("").__index = { shout = function() return "!" end } end,
    ["rawset(getmetatable(''), '__index', t)"] = function() rawset(getmetatable(""), "__index", {}) end,
  },
}

--- Runs the write attempts of `group`; returns the ones that did not raise, in order.
local function tries_writes(group)
  local succeeded = {}
  for name, attempt in pairs(WRITES[group]) do
    if pcall(attempt) then succeeded[#succeeded + 1] = name end
  end
  table.sort(succeeded)
  return { succeeded = succeeded, shout = ("abc").shout }
end

--- What this process sees of the tables every process shares.
local function inspects()
  local _, lookup_err = process.registry.lookup("lua_api.sandbox.nobody")
  return {
    string_x = string.x,
    shout = ("abc").shout,
    upper = ("abc"):upper(),
    table_insert = type(table.insert),
    pi = math.pi == 4 * math.atan(1),
    os_time = type(os.time),
    utf8_char = type(utf8.char),
    process_send = type(process.send),
    exit_kind = process.event.EXIT,
    lookup_err = errors.is(lookup_err, errors.NOT_FOUND),
    channel_new = type(channel.new),
    coroutine_spawn = type(coroutine.spawn),
    not_found = errors.NOT_FOUND,
    time_sleep = type(time.sleep),
  }
end

local PRISTINE = {
  upper = "ABC", table_insert = "function", pi = true, os_time = "function", utf8_char = "function",
  process_send = "function", exit_kind = "EXIT", lookup_err = true, channel_new = "function",
  coroutine_spawn = "function", not_found = "NotFound", time_sleep = "function",
}

-- Tests -------------------------------------------------------------------------------------

local function no_io_library()
  t.is_nil(io, "io")
  t.is_nil(_G.io, "_G.io")
end

local function no_os_execute_exit_remove_or_getenv()
  t.type(os, "table", "os")
  for _, name in ipairs({ "execute", "exit", "remove", "getenv", "rename", "tmpname", "setlocale" }) do
    t.is_nil(os[name], "os." .. name)
  end
end

local function no_file_system_access()
  t.is_nil(io, "io")
  t.is_nil(dofile, "dofile")
  t.is_nil(loadfile, "loadfile")
  if package ~= nil then
    t.is_nil(package.loadlib, "package.loadlib")
    t.is_nil(package.searchpath, "package.searchpath")
  end
  local name = "/etc/" .. "passwd"
  t.eq((pcall(require, name)), false, "require of a file path")
end

local function os_time_clock_and_date_are_available()
  t.type(os.time(), "number", "os.time()")
  t.type(os.clock(), "number", "os.clock()")
  t.match(os.date("!%Y-%m-%d"), "^%d%d%d%d%-%d%d%-%d%d$", "os.date('!%Y-%m-%d')")
  t.eq(os.time({ year = 2020, month = 1, day = 1, hour = 12 }) ~= nil, true, "os.time with a table")
  t.between(os.time(), time.now():unix() - 2, time.now():unix() + 2, "os.time() against time.now()")
end

local function no_debug_beyond_tracebacks()
  if debug == nil then return true end
  for name in pairs(debug) do
    t.eq(name, "traceback", "debug." .. tostring(name) .. " is available")
  end
  t.type(debug.traceback(), "string", "debug.traceback()")
end

local function no_binary_chunks()
  t.is_nil(string.dump, "string.dump")
  local chunk, err = load("return 1 + 1")
  t.type(chunk, "function", "load of a text chunk (" .. tostring(err) .. ")")
  t.eq(chunk(), 2, "the loaded chunk runs")
  local binary, binary_err = load("return 1", "chunk", "b")
  t.is_nil(binary, "load with mode 'b'")
  t.ok(binary_err ~= nil, "load with mode 'b' says why")
  t.is_nil((load("\27Lua\84\0\25\147\13\10\26\10", "bytes")), "load of text starting with the binary signature")
  t.is_nil((load("\27Lua\84\0\25\147\13\10\26\10", "bytes", "bt")), "load of binary-looking text with mode 'bt'")
end

local function require_of_an_unlisted_module_fails_naming_the_module()
  local name = "js" .. "on"
  local ok, err = pcall(require, name)
  t.eq(ok, false, "requiring the json module, which the entry does not list")
  t.contains(tostring(err), "json", "the error names the module")
  local unknown = "no_such_" .. "module"
  local ok2, err2 = pcall(require, unknown)
  t.eq(ok2, false, "requiring a module that does not exist")
  t.contains(tostring(err2), unknown, "the error names the module")
  t.type(require("time"), "table", "a listed module")
end

local function globals_written_by_one_process_are_invisible_to_another()
  lua_api_marker = "written by the test"
  local first = t.check("spawn", process.spawn("writes_globals", HOST, "first", true))
  time.sleep("10ms")
  local seen = t.check("exec", process.exec("writes_globals", HOST, "second", false))
  t.eq(seen, { string_is_table = true }, "globals the second process found while the first one ran")
  process.send(first, "stop")
  local again = t.check("exec", process.exec("writes_globals", HOST, "third", false))
  t.eq(again, { string_is_table = true }, "globals a later process of the same entry found")
  t.eq(lua_api_marker, "written by the test", "this process's own global")
  t.type(string, "table", "string in this process")
end

--- Runs the writes of `group` in one process of `host`, then checks what another one sees.
local function check_writes_refused(group, host)
  local tried = t.check("exec tries_writes", process.exec("tries_writes", host, group))
  local seen = t.check("exec inspects", process.exec("inspects", host))
  t.eq({ writes_that_did_not_raise = tried.succeeded, seen_by_another_process = seen },
    { writes_that_did_not_raise = {}, seen_by_another_process = PRISTINE },
    "writes to shared tables (" .. group .. ")")
  t.is_nil(tried.shout, "a string method added by the writes")
end

local function standard_library_tables_are_read_only()
  check_writes_refused("standard", "lua_api.sandbox:host_for_standard_writes")
  t.eq(("abc"):upper(), "ABC", "string methods work")
end

local function built_in_globals_and_modules_are_read_only()
  check_writes_refused("builtins", "lua_api.sandbox:host_for_builtin_writes")
end

local function the_shared_string_metatable_cannot_be_changed()
  check_writes_refused("string_metatable", "lua_api.sandbox:host_for_string_metatable_writes")
end

local function globals_always_present_and_modules_only_through_require()
  t.type(process, "table", "process")
  t.type(channel, "table", "channel")
  t.type(coroutine, "table", "coroutine")
  t.type(coroutine.spawn, "function", "coroutine.spawn")
  t.type(errors, "table", "errors")
  t.type(print, "function", "print")
  for _, name in ipairs({ "time", "json", "uuid", "funcs", "ctx", "logger", "env", "workflow" }) do
    t.is_nil(_G[name], "global " .. name .. " (modules come through require, even when listed)")
  end
end

local function standard_lua_globals_are_available()
  t.eq(_VERSION, "Lua 5.4", "_VERSION")
  for _, name in ipairs({
    "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select", "tonumber", "tostring", "type",
    "getmetatable", "setmetatable", "rawequal", "rawget", "rawlen", "rawset", "load", "require",
  }) do
    t.type(_G[name], "function", name)
  end
  for _, name in ipairs({ "string", "table", "math", "utf8", "os" }) do
    t.type(_G[name], "table", name)
  end
  t.eq(math.type(3 // 2), "integer", "integer division")
  t.eq(utf8.len("Zoë"), 3, "utf8.len")
  t.eq(string.format("%5.2f", math.pi), " 3.14", "string.format")
  t.eq(table.concat({ 1, 2, 3 }, ","), "1,2,3", "table.concat")
  local sorted = { 3, 1, 2 }
  table.sort(sorted)
  t.eq(sorted, { 1, 2, 3 }, "table.sort")
  t.eq(select("#", table.unpack({ 1, nil, 3 }, 1, 3)), 3, "table.unpack")
end

local function an_imported_library_is_its_chunks_table_and_per_process()
  t.type(counter, "table", "the imported library")
  t.type(counter.bump, "function", "counter.bump")
  t.eq(counter.bump(), 1, "first bump in this process")
  t.eq(counter.bump(), 2, "second bump in this process")
  t.eq(t.check("exec", process.exec("bumps_the_counter", HOST, 5)), 5, "another process has its own counter")
  t.eq(t.check("exec", process.exec("bumps_the_counter", HOST, 1)), 1, "and so has the next one")
  t.eq(counter.bump(), 3, "this process's counter is unchanged")
  t.ok(require("counter") == counter, "require returns the same instance within a process")
end

return {
  writes_globals = writes_globals,
  bumps_the_counter = bumps_the_counter,
  tries_writes = tries_writes,
  inspects = inspects,
  no_io_library = no_io_library,
  no_os_execute_exit_remove_or_getenv = no_os_execute_exit_remove_or_getenv,
  no_file_system_access = no_file_system_access,
  os_time_clock_and_date_are_available = os_time_clock_and_date_are_available,
  no_debug_beyond_tracebacks = no_debug_beyond_tracebacks,
  no_binary_chunks = no_binary_chunks,
  require_of_an_unlisted_module_fails_naming_the_module = require_of_an_unlisted_module_fails_naming_the_module,
  globals_written_by_one_process_are_invisible_to_another = globals_written_by_one_process_are_invisible_to_another,
  standard_library_tables_are_read_only = standard_library_tables_are_read_only,
  built_in_globals_and_modules_are_read_only = built_in_globals_and_modules_are_read_only,
  the_shared_string_metatable_cannot_be_changed = the_shared_string_metatable_cannot_be_changed,
  globals_always_present_and_modules_only_through_require = globals_always_present_and_modules_only_through_require,
  standard_lua_globals_are_available = standard_lua_globals_are_available,
  an_imported_library_is_its_chunks_table_and_per_process = an_imported_library_is_its_chunks_table_and_per_process,
}
