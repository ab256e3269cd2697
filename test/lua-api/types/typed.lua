-- Typed Lua in a process, a function and a library (docs/lua-api/types.md): the annotations
-- are stripped at load, the code runs as the plain Lua left.
local t = require("t")
local funcs = require("funcs")
local shapes = require("shapes")

type Rect = {min: {x: number, y: number}, max: {x: number, y: number}}
type Move = {dx: number, dy: number}

local HOST = "lua_api:processes"

-- Entries the tests call ----------------------------------------------------------------------

--- function.lua: a typed function with an optional parameter and a cast.
local function scaled_area(r: Rect, factor?: number): number
  local f: number = factor or 1
  return shapes.area(r) * (f :: number)
end

--- function.lua: fails at run time on line 23 of this file (indexing a nil point).
local function first_x(points: {{x: number}}): number
  local p: {x: number}? = points[1]
  return (p!).x
end

--- process.lua: moves the point it is sent and sends the result back to `parent`.
local function mover(parent: string, by: Move)
  local msg = process.inbox():receive()
  local moved: {x: number, y: number}, tag: string = shapes.moved(msg:payload():data(), by, "moved")
  process.send(parent, tag, moved)
end

-- Tests -------------------------------------------------------------------------------------

local function typed_process_function_and_library_run()
  local square: Rect = { min = { x = 0, y = 0 }, max = { x = 2, y = 3 } }
  t.eq(shapes.area(square), 6, "library called from the test")
  t.eq(t.check("funcs.call", funcs.call("scaled_area", square, 2)), 12, "typed function.lua")

  local replies = process.listen("moved")
  local child = t.check("spawn", process.spawn("mover", HOST, process.pid(), { dx = 1, dy = -1 }))
  process.send(child, "point", { x = 5, y = 5 })
  t.eq(t.receive(replies, "the moved point"), { x = 6, y = 4 }, "typed process.lua")
end

local function an_error_in_typed_code_names_the_line_of_the_typed_file()
  local value, err = funcs.call("first_x", {})
  t.is_nil(value, "value")
  t.contains(tostring(err), "types/typed.lua:23:", "the typed file's line")
end

return {
  scaled_area = scaled_area,
  first_x = first_x,
  mover = mover,
  typed_process_function_and_library_run = typed_process_function_and_library_run,
  an_error_in_typed_code_names_the_line_of_the_typed_file = an_error_in_typed_code_names_the_line_of_the_typed_file,
}
