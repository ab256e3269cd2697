-- Payloads crossing between processes and functions: they carry their value (docs/lua-api/payload.md).
local t = require("t")
local funcs = require("funcs")

local HOST = "lua_api:processes"

-- Spawned and called -------------------------------------------------------------------------

--- Receives one "p" message and sends `parent` what its value is.
local function describes_what_it_receives(parent)
  local got = process.listen("p"):receive()
  process.send(parent, "described", {
    text = tostring(got), format = got:get_format(), data = got:data(),
    error_format = payload.new(errors.new("x")):get_format(),
  })
end

--- A payload held as JSON: the caller gets the value, not the text.
local function returns_a_json_payload(value)
  return payload.new(value):transcode(payload.format.JSON)
end

-- Tests -------------------------------------------------------------------------------------

local function a_payload_sent_to_another_process_arrives_as_a_payload_of_its_value()
  local described = process.listen("described")
  local child = t.check("spawn", process.spawn("describes_what_it_receives", HOST, process.pid()))
  local sent = payload.new({ n = 1, list = { "a" } }):transcode(payload.format.YAML)
  t.eq(process.send(child, "p", sent), true, "send a payload")
  t.eq(t.receive(described, "the child's description"), {
    text = "payload{format=lua/any}", format = "lua/any", data = { n = 1, list = { "a" } },
    error_format = "golang/error",
  }, "what arrived")
end

local function a_function_returning_a_payload_gives_the_caller_its_value()
  t.eq(t.check("call", funcs.call("returns_a_json_payload", { a = { 1, 2 } })), { a = { 1, 2 } },
    "funcs.call's value")
  local future = t.check("async", funcs.async("returns_a_json_payload", "s"))
  local result = t.receive(future:response(), "the call's payload")
  t.eq(result:get_format(), "lua/any", "the future's payload format")
  t.eq(result:data(), "s", "the future's payload data")
end

local function a_messages_payload_has_the_payload_methods()
  t.check("send to self", process.send(process.pid(), "order", { id = 7, items = { "a", "b" } }))
  local p = t.receive(process.inbox(), "the message"):payload()
  t.eq(p:get_format(), payload.format.LUA, "its format")
  t.eq(p:unmarshal(), { id = 7, items = { "a", "b" } }, "unmarshal")
  local json = t.check("transcode to JSON", p:transcode(payload.format.JSON))
  t.eq(json:get_format(), payload.format.JSON, "the JSON payload's format")
  t.eq(json:data(), { id = 7, items = { "a", "b" } }, "read back from JSON")
  t.is_error(select(2, p:transcode("no/such")), errors.INVALID, "an unknown format")
end

return {
  a_messages_payload_has_the_payload_methods = a_messages_payload_has_the_payload_methods,
  describes_what_it_receives = describes_what_it_receives,
  returns_a_json_payload = returns_a_json_payload,
  a_payload_sent_to_another_process_arrives_as_a_payload_of_its_value =
    a_payload_sent_to_another_process_arrives_as_a_payload_of_its_value,
  a_function_returning_a_payload_gives_the_caller_its_value =
    a_function_returning_a_payload_gives_the_caller_its_value,
}
