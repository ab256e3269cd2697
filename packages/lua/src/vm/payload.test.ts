import { afterEach, describe, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** Runs `body` as a process's main; `payload` is a global, listed or not. */
async function run(body: string, modules: string[] = []) {
  h = await VmHarness.create();
  return h.run(`return { main = function()\n${body}\nend }`, [], { modules });
}

describe('payload values', () => {
  it('wrap any Lua value as lua/any and give it back unchanged from data() and unmarshal()', async () => {
    const exit = await run(`
      local t = { key = "value", list = { 1, 2, 3 } }
      local p = payload.new(t)
      return { p:get_format(), p:data() == t, p:unmarshal() == t, payload.new("s"):data(),
               payload.new(1.5):data(), payload.new(true):data(), payload.new(nil):data() == nil,
               payload.new(nil):get_format(), tostring(p) }`);
    expect(exit).toEqual({
      ok: true,
      value: ['lua/any', true, true, 's', 1.5, true, true, 'lua/any', 'payload{format=lua/any}'],
    });
  });

  it('hold an error object as golang/error, Wippy’s name for it, and give the error back', async () => {
    const exit = await run(`
      local e = errors.new({ kind = errors.NOT_FOUND, message = "gone" })
      local p = payload.new(e)
      return { p:get_format(), p:data() == e, p:data():kind() }`);
    expect(exit).toEqual({ ok: true, value: ['golang/error', true, 'NotFound'] });
  });

  it('name Wippy’s formats in payload.format, a read-only table', async () => {
    const exit = await run(`
      local f = payload.format
      local ok = pcall(function() f.JSON = "x" end)
      return { f.JSON, f.YAML, f.STRING, f.BYTES, f.MSGPACK, f.LUA, f.GOLANG, f.ERROR, ok }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'json/plain',
        'yaml/plain',
        'text/plain',
        'application/octet-stream',
        'application/msgpack',
        'lua/any',
        'golang/any',
        'golang/error',
        false,
      ],
    });
  });
});

describe('payload:transcode', () => {
  it('turns a table into JSON, YAML and MessagePack payloads whose data() is the table again', async () => {
    const exit = await run(
      `local p = payload.new({ name = "test", n = 3, list = { "a", "b" } })
      local out = {}
      for _, format in ipairs({ payload.format.JSON, payload.format.YAML, payload.format.MSGPACK }) do
        local q, err = p:transcode(format)
        assert(err == nil, tostring(err))
        local back = q:data()
        out[#out + 1] = table.concat({ q:get_format(), back.name, back.n, back.list[2],
          q:transcode(payload.format.LUA):data().list[1] }, " ")
      end
      local text = {}
      for _, value in ipairs({ 3, 2.5, true, "s" }) do
        text[#text + 1] = payload.new(value):transcode(payload.format.STRING):data()
      end
      text[#text + 1] = payload.new(nil):transcode(payload.format.STRING):data()
      return { out, text }`,
      ['yaml'],
    );
    expect(exit).toEqual({
      ok: true,
      value: [
        ['json/plain test 3 b a', 'yaml/plain test 3 b a', 'application/msgpack test 3 b a'],
        ['3', '2.5', 'true', 's', ''],
      ],
    });
  });

  it('reads JSON text given as a string payload, and returns the same payload for its own format', async () => {
    const exit = await run(`
      local text = payload.new('{"a":[1,2]}'):transcode(payload.format.STRING)
      local as_json = text:transcode(payload.format.JSON)
      local p = payload.new(1)
      return { as_json:get_format(), as_json:data(), p:transcode(payload.format.LUA) == p }`);
    // A string held as text/plain becomes JSON as a JSON string, not parsed: transcoding keeps values.
    expect(exit).toEqual({ ok: true, value: ['json/plain', '{"a":[1,2]}', true] });
  });

  it('gives nil and an INTERNAL error when the value has no form in the format, INVALID for an unknown format', async () => {
    const exit = await run(`
      local function err_of(value, err)
        if value ~= nil then return "no error" end
        return { err:kind(), err:retryable(), err:message() }
      end
      local t = payload.new({ 1, 2 })
      return { err_of(t:transcode(payload.format.STRING)),
               err_of(payload.new(print):transcode(payload.format.JSON)),
               err_of(t:transcode(payload.format.GOLANG)),
               err_of(t:transcode(payload.format.ERROR)),
               err_of(t:transcode("xml"))}`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['Internal', false, 'payload: transcoding lua/any to text/plain: a table is not a string'],
        [
          'Internal',
          false,
          'payload: transcoding lua/any to json/plain: json.encode: cannot encode a function as JSON',
        ],
        [
          'Internal',
          false,
          "payload: transcoding to golang/any: Go's in-memory values have no form in luact",
        ],
        [
          'Internal',
          false,
          'payload: transcoding lua/any to golang/error: only an error object is held as golang/error',
        ],
        ['Invalid', false, 'payload:transcode: unknown format "xml" (use one of payload.format)'],
      ],
    });
  });

  it('is a global that entries may also list or require, as in Wippy', async () => {
    const exit = await run('return { require("payload") == payload, type(payload.new) }', [
      'payload',
    ]);
    expect(exit).toEqual({ ok: true, value: [true, 'function'] });
  });

  it('crosses to TypeScript as the value it holds, decoded from its format', async () => {
    const exit = await run(`return {
      plain = payload.new({ 1, 2 }),
      json = payload.new({ a = "b" }):transcode(payload.format.JSON),
      failure = payload.new(errors.new({ kind = errors.CONFLICT, message = "taken" })),
    }`);
    expect(exit).toMatchObject({
      ok: true,
      value: { plain: [1, 2], json: { a: 'b' }, failure: { kind: 'CONFLICT', message: 'taken' } },
    });
  });
});
