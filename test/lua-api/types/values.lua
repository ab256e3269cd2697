-- Declared types are values at run time (docs/lua-api/types.md): T:is(v) checks a value,
-- T(v) casts it, and a library's types are fields of its table.
local t = require("t")
local shapes = require("shapes")

type Status = "open" | "closed"
type Title = string @min_len(1) @max_len(20)
type Ticket = {id: integer @min(1), title: Title, status: Status, tags?: {string}}
type Page<T> = {items: {T}, next?: string}

local function a_declared_type_checks_values()
  local ticket = { id = 7, title = "Broken", status = "open" }
  t.eq(Ticket:is(ticket), ticket, "a matching value comes back")
  local function problem(value)
    local checked, err = Ticket:is(value)
    t.is_nil(checked, "no value for a mismatch")
    return err
  end
  t.eq(problem({ id = 0, title = "x", status = "open" }), "id: 0 is less than the minimum 1", "@min")
  t.eq(problem({ id = 1, title = "", status = "open" }),
    "title: length 0 is less than the minimum length 1", "@min_len of an alias")
  t.eq(problem({ id = 1, title = "x", status = "done" }),
    'status: expected Status, got "done"', "a union of literals")
  t.eq(problem({ id = 1, title = "x", status = "open", tags = { 1 } }),
    "tags[1]: expected string, got 1", "an optional field, when present")
  t.eq(problem({ id = 1, status = "open" }), "title: missing (expected Title)", "a missing field")

  local Tickets = Page
  local page, err = Tickets:is({ items = { ticket }, next = "abc" })
  t.eq(err, nil, "a generic type without arguments takes any")
  t.eq(page.next, "abc", "the value")
end

type TicketPage = Page<Ticket>

local function generic_types_and_library_types_check_their_parts()
  local _, err = TicketPage:is({ items = { { id = 1, title = "x", status = "shut" } } })
  t.eq(err, 'items[1].status: expected Status, got "shut"', "Page<Ticket>")
  t.eq(shapes.Point:is({ x = 1, y = 2 }) ~= nil, true, "the library's Point")
  local _, rect_err = shapes.Rect:is({ min = { x = 0, y = 0 }, max = { x = 1 } })
  t.eq(rect_err, "max.y: missing (expected number)", "the library's Rect, built from its Point")
end

local function casts_give_the_value_or_raise_an_invalid_error()
  t.eq(Ticket({ id = 2, title = "ok", status = "closed" }).id, 2, "a cast to a declared type")
  t.eq(string("pid"), "pid", "string(x)")
  t.eq(math.type(integer(4.0)), "integer", "integer(x) gives an integer")
  local ok, err = pcall(Status, "gone")
  t.eq(ok, false, "a failed cast raises")
  t.is_error(err, "INVALID", "the error")
  t.eq(err:message(), 'cannot cast to Status: expected Status, got "gone"', "its message")
  t.eq(string.format("%03d", 7), "007", "string is still the string library")
end

return {
  a_declared_type_checks_values = a_declared_type_checks_values,
  generic_types_and_library_types_check_their_parts = generic_types_and_library_types_check_their_parts,
  casts_give_the_value_or_raise_an_invalid_error = casts_give_the_value_or_raise_an_invalid_error,
}
