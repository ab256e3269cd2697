-- json: encode / decode (docs/lua-api/json.md).
local t = require("t")
local json = require("json")

local function json_encode_decode_round_trip()
  local value = {
    name = "Zoë \"quoted\" \\ back\nslash\t✓",
    count = 3,
    ratio = 0.25,
    negative = -12,
    yes = true,
    no = false,
    list = { 1, "two", { three = 3 }, { 4, 5 } },
    nested = { a = { b = { c = "deep" } } },
  }
  local text = json.encode(value)
  t.type(text, "string", "json.encode")
  local back, err = json.decode(text)
  t.is_nil(err, "json.decode error")
  t.eq(back, value, "decode(encode(v))")
  t.eq(json.encode({ 1, 2, 3 }), "[1,2,3]", "an array encodes as a JSON array")
  t.eq(json.encode("text"), '"text"', "a string")
  t.eq(json.encode(42), "42", "an integer")
  t.eq(json.encode(true), "true", "a boolean")
end

local function json_decode_of_standard_json()
  local v = t.check("decode", json.decode('{"a":[1,2,{"b":null}],"c":"\\u00e9\\n","d":1.5e2,"e":{},"f":[]}'))
  t.eq(v.a[1], 1, "a[1]")
  t.eq(v.a[2], 2, "a[2]")
  t.type(v.a[3], "table", "a[3]")
  t.is_nil(v.a[3].b, "null in an object")
  t.eq(v.c, "é\n", "escapes in a string")
  t.eq(v.d, 150, "a number with an exponent")
  t.type(v.e, "table", "an empty object")
  t.type(v.f, "table", "an empty array")
  t.eq(t.check("decode a scalar", json.decode("12")), 12, "a bare number")
end

local function json_decode_of_invalid_text_returns_nil_and_an_error()
  for _, text in ipairs({ '{"a":', "[1, 2", "{'single': 1}", "nope", "" }) do
    local ok, value, err = pcall(json.decode, text)
    t.ok(ok, "json.decode(" .. t.show(text) .. ") returns instead of raising (raised " .. t.show(value) .. ")")
    t.fails("json.decode(" .. t.show(text) .. ")", value, err)
  end
end

local function json_empty_tables_and_encode_failures()
  t.eq(json.encode({}), "[]", "an empty table encodes as an array")
  t.eq(json.encode(json.object()), "{}", "json.object() encodes as an object")
  t.eq(json.encode(t.check("decode {}", json.decode("{}"))), "{}", "a decoded {} stays an object")
  t.eq(json.encode({ a = {}, b = json.array() }), '{"a":[],"b":[]}', "nested empty tables")
  local ok, text, err = pcall(json.encode, { [1] = "a", [3] = "c" })
  t.ok(ok, "json.encode of a sparse array returns instead of raising (raised " .. t.show(text) .. ")")
  local sparse = t.fails("json.encode of a sparse array", text, err)
  t.eq(sparse:kind(), errors.INTERNAL, "the kind of a sparse array's error")
  t.eq(sparse:retryable(), false, "a sparse array's error is not retryable")
  t.contains(sparse:message(), "sparse array", "the message of a sparse array's error")
  local cyclic = {}
  cyclic.self = cyclic
  local cycle_error = t.fails("json.encode of a cycle", json.encode(cyclic))
  t.eq(cycle_error:kind(), errors.INTERNAL, "a cycle's error")
  t.eq(t.fails("json.encode of a function", json.encode({ f = print })):kind(), errors.INTERNAL,
    "a function's error")
  t.eq(json.encode({ [1] = "a", x = 1 }), '{"1":"a","x":1}', "mixed keys make an object")
end

local function json_decode_errors_have_wippys_kinds()
  local empty = t.fails("json.decode('')", json.decode(""))
  t.eq(empty:kind(), errors.INVALID, "the kind of an empty text's error")
  local bad = t.fails("json.decode('not json')", json.decode("not json"))
  t.eq(bad:kind(), errors.INTERNAL, "the kind of a syntax error")
  t.eq(bad:retryable(), false, "a syntax error is not retryable")
  t.contains(bad:message(), "at position 2", "a syntax error names the position")
end

local ORDER = {
  type = "object",
  properties = {
    id = { type = "integer", minimum = 1 },
    items = { type = "array", minItems = 1, items = { type = "string" } },
    note = { type = { "string", "null" } },
  },
  required = { "id", "items" },
  additionalProperties = false,
}

local function json_validate_checks_values_against_a_json_schema()
  t.eq(t.check("a valid order", json.validate(ORDER, { id = 7, items = { "tea" } })), true, "valid")
  t.eq(json.validate(ORDER, { id = 7, items = { "tea" }, note = json.null }), true, "a null note")
  local ok, err = json.validate(ORDER, { id = 0, items = { "tea", 2 }, extra = true })
  t.eq(ok, false, "an invalid order")
  t.eq(err:kind(), errors.INVALID, "the kind of a validation error")
  t.eq(err:retryable(), false, "a validation error is not retryable")
  t.contains(err:message(), "/id: 0 is less than the minimum 1", "the message names the id")
  t.contains(err:message(), "/items/1: expected string, got integer", "the message names the item")
  t.contains(err:message(), 'property "extra" is not allowed', "the message names the extra")
  local no_data, missing = json.validate(ORDER, nil)
  t.eq(no_data, false, "validate without data")
  t.contains(missing:message(), "data is required", "the message without data")
  t.eq(json.validate('{"type":"number","maximum":10}', 3), true, "a schema given as JSON text")
  t.eq(json.validate_string(ORDER, '{"id":1,"items":["a"]}'), true, "validate_string of valid text")
  local bad_text, text_err = json.validate_string(ORDER, '{"id":1}')
  t.eq(bad_text, false, "validate_string of invalid text")
  t.contains(text_err:message(), 'missing required property "items"', "validate_string's message")
  local bad_schema, schema_err = json.validate({ type = "strnig" }, 1)
  t.eq(bad_schema, false, "an invalid schema")
  t.eq(schema_err:kind(), errors.INVALID, "the kind of an invalid schema's error")
  t.contains(schema_err:message(), "unknown type strnig", "an invalid schema's message")
end

return {
  json_validate_checks_values_against_a_json_schema = json_validate_checks_values_against_a_json_schema,
  json_empty_tables_and_encode_failures = json_empty_tables_and_encode_failures,
  json_decode_errors_have_wippys_kinds = json_decode_errors_have_wippys_kinds,
  json_encode_decode_round_trip = json_encode_decode_round_trip,
  json_decode_of_standard_json = json_decode_of_standard_json,
  json_decode_of_invalid_text_returns_nil_and_an_error = json_decode_of_invalid_text_returns_nil_and_an_error,
}
