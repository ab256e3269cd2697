-- A library written in typed Lua: a type declaration, typed parameters and returns.
type Point = {x: number, y: number}
export type Rect = {min: Point, max: Point, label?: string}

local function area(r: Rect): number
  return (r.max.x - r.min.x) * (r.max.y - r.min.y)
end

local function moved<T>(p: Point, by: {dx: number, dy: number}, tag: T): (Point, T)
  return { x = p.x + by.dx, y = p.y + by.dy }, tag
end

-- Its types are values too: importers check with shapes.Point:is(v).
return { area = area, moved = moved, Point = Point, Rect = Rect }
