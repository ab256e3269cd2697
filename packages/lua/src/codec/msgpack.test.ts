import { readFile } from 'node:fs/promises';
import { LuactError } from '@luact/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LuaEngine } from 'wasmoon';
import { LuaFactory } from 'wasmoon';
import { decodeValue, decodeValues, encodeValue, encodeValues } from './wire.js';

/**
 * lua/msgpack.lua against src/codec/wire.ts in a plain wasmoon engine. Bytes cross the Lua/JS
 * boundary only as hex (wasmoon's string conversion cuts at NUL and is not byte-exact); values
 * are compared either as bytes or, on the Lua side, as the canonical text of `show`, which tells
 * integers from floats.
 */

let lua: LuaEngine;

/**
 * Runs a Lua chunk and returns its first result, which must be a string. wasmoon 1.16 leaves a
 * chunk's results on the main stack (overflowing it after a few dozen calls), so empty it.
 */
function run(code: string): string {
  try {
    const result: unknown = lua.doStringSync(code);
    if (typeof result !== 'string') throw new Error(`Lua returned ${typeof result}, not a string`);
    return result;
  } finally {
    lua.global.setTop(0);
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/** The Lua value of expression `expr`, encoded by the plain Lua codec, decoded by wire.ts. */
const luaToTs = (expr: string): unknown =>
  decodeValue(unhex(run(`return tohex(plain.encode(${expr}))`)));

/** `show` of what the Lua codec (with the error ext) decodes from wire.ts's encoding of `value`. */
const tsToLua = (value: unknown): string =>
  run(`return show(codec.decode(fromhex('${hex(encodeValue(value))}')))`);

beforeAll(async () => {
  lua = await new LuaFactory().createEngine();
  lua.global.set(
    'SOURCE',
    await readFile(new URL('../../lua/msgpack.lua', import.meta.url), 'utf8'),
  );
  run(`
    new_codec = assert(load(SOURCE, '=msgpack.lua'))()
    plain = new_codec()

    -- A stand-in for the kernel's error objects: ext 1 with a msgpack map payload.
    ErrMT = {}
    codec = new_codec({
      encode_ext = function(v)
        if getmetatable(v) == ErrMT then
          return 1, codec.encode({ kind = v.kind, message = v.message, retryable = v.retryable,
            details = v.details })
        end
      end,
      decode_ext = function(ext_type, payload)
        if ext_type ~= 1 then error('unknown ext type ' .. ext_type) end
        return setmetatable(codec.decode(payload), ErrMT)
      end,
    })

    function tohex(s)
      return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))
    end
    function fromhex(h)
      return (h:gsub('..', function(x) return string.char(tonumber(x, 16)) end))
    end
    function seq(n) local t = {} for i = 1, n do t[i] = i end return t end
    function bytes256() local t = {} for i = 0, 255 do t[i + 1] = string.char(i) end return table.concat(t) end

    -- Canonical text of a value: integers as digits, floats as f:<%.17g>, strings quoted when
    -- printable ASCII else as x:<hex>, tables with sorted entries, error objects marked E.
    function show(v)
      local t = type(v)
      if t == 'number' then
        if math.type(v) == 'integer' then return tostring(v) end
        if v ~= v then return 'f:nan' end
        return 'f:' .. string.format('%.17g', v)
      elseif t == 'string' then
        if v:find('^[ -~]*$') then return string.format('%q', v) end
        return 'x:' .. tohex(v)
      elseif t == 'table' then
        local parts = {}
        for k, x in pairs(v) do parts[#parts + 1] = '[' .. show(k) .. ']=' .. show(x) end
        table.sort(parts)
        return (getmetatable(v) == ErrMT and 'E{' or '{') .. table.concat(parts, ',') .. '}'
      end
      return tostring(v)
    end

    -- The message of the error f(...) raises.
    function catch(f, ...)
      local ok, err = pcall(f, ...)
      if ok then return 'no error' end
      return tostring(err)
    end
    return 'ok'
  `);
});

afterAll(() => {
  lua?.global.close();
});

const str = (n: number): string => 'a'.repeat(n);
const bin = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);

/** [Lua expression, the same value in JS]: the two encodings must be identical bytes. */
const VECTORS: readonly (readonly [string, unknown])[] = [
  ['nil', null],
  ['true', true],
  ['false', false],
  // positive ints, every size class and its edges
  ['0', 0],
  ['1', 1],
  ['127', 127],
  ['128', 128],
  ['255', 255],
  ['256', 256],
  ['65535', 65535],
  ['65536', 65536],
  ['4294967295', 4294967295],
  ['4294967296', 4294967296],
  ['1 << 40', 2 ** 40],
  ['1 << 53', 2 ** 53],
  ['(1 << 53) + 1', 2n ** 53n + 1n],
  ['math.maxinteger', 2n ** 63n - 1n],
  // negative ints
  ['-1', -1],
  ['-32', -32],
  ['-33', -33],
  ['-128', -128],
  ['-129', -129],
  ['-32768', -32768],
  ['-32769', -32769],
  ['-2147483648', -2147483648],
  ['-2147483649', -2147483649],
  ['-(1 << 53)', -(2 ** 53)],
  ['math.mininteger', -(2n ** 63n)],
  // bigints that fit a small class are written small, like Lua integers
  ['7', 7n],
  ['-200', -200n],
  // floats (integral JS numbers are ints, so only non-integral and non-finite ones compare)
  ['1.5', 1.5],
  ['-0.25', -0.25],
  ['0.1', 0.1],
  ['1e300', 1e300],
  ['1e20', 1e20],
  ['math.huge', Number.POSITIVE_INFINITY],
  ['-math.huge', Number.NEGATIVE_INFINITY],
  // strings: fixstr, str8, str16, str32 edges; UTF-8; NUL inside valid UTF-8 stays str
  ["''", ''],
  ['string.rep("a", 31)', str(31)],
  ['string.rep("a", 32)', str(32)],
  ['string.rep("a", 255)', str(255)],
  ['string.rep("a", 256)', str(256)],
  ['string.rep("a", 65535)', str(65535)],
  ['string.rep("a", 65536)', str(65536)],
  ['"h\\u{e9}llo w\\u{1F30D}rld"', 'héllo w🌍rld'],
  ['"a\\0b"', 'a\u0000b'],
  // bin: invalid UTF-8
  ['"\\xff\\x00\\x01"', new Uint8Array([0xff, 0, 1])],
  ['string.rep("\\xff", 255)', bin(255)],
  ['string.rep("\\xff", 256)', bin(256)],
  ['string.rep("\\xff", 65536)', bin(65536)],
  // arrays: fixarray, array16, array32, nested
  ['{1, 2, 3}', [1, 2, 3]],
  ['seq(15)', Array.from({ length: 15 }, (_, i) => i + 1)],
  ['seq(16)', Array.from({ length: 16 }, (_, i) => i + 1)],
  ['seq(65536)', Array.from({ length: 65536 }, (_, i) => i + 1)],
  ['{{1}, {2, {3, {"x", true}}}}', [[1], [2, [3, ['x', true]]]]],
  // maps with one entry (Lua's key order is not fixed, so multi-key maps compare as values)
  ['{}', {}],
  ['{a = 1}', { a: 1 }],
  ['{a = {b = {c = "d"}}}', { a: { b: { c: 'd' } } }],
  ['{list = {1, "two", 3.5, false}}', { list: [1, 'two', 3.5, false] }],
  ['{[5] = true}', new Map([[5, true]])],
  ['{[-1] = "neg"}', new Map([[-1, 'neg']])],
  ['{[1.5] = "f"}', new Map([[1.5, 'f']])],
  ['{[true] = 0}', new Map([[true, 0]])],
  ['{["\\xff"] = 1}', new Map([[new Uint8Array([0xff]), 1]])],
];

describe('msgpack.lua and wire.ts agree', () => {
  it.each(VECTORS.map(([expr, value]) => [expr.slice(0, 40), expr, value] as const))(
    'encodes %s to the same bytes on both ends',
    (_, expr, value) => {
      const fromLua = run(`return tohex(plain.encode(${expr}))`);
      expect(fromLua).toBe(hex(encodeValue(value)));
      // and each end decodes the other's bytes to the same value
      expect(run(`return show(plain.decode(fromhex('${fromLua}')))`)).toBe(
        run(`return show(${expr})`),
      );
    },
  );

  it('decodes the test vectors from Lua to the JS values', () => {
    for (const [expr, value] of VECTORS) {
      if (typeof value === 'bigint' && value >= -(2n ** 53n) && value <= 2n ** 53n) {
        expect(luaToTs(expr)).toBe(Number(value)); // ints come back as numbers when exact
      } else {
        expect(luaToTs(expr)).toEqual(value);
      }
    }
  });

  it('writes map16 for 16+ keys and both ends read the other', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const object = Object.fromEntries(keys.map((k, i) => [k, i]));
    const expr = `{${keys.map((k, i) => `${k} = ${i}`).join(', ')}}`;
    const fromLua = run(`return tohex(plain.encode(${expr}))`);
    expect(fromLua.slice(0, 6)).toBe('de0014');
    expect(decodeValue(unhex(fromLua))).toEqual(object);
    expect(hex(encodeValue(object)).slice(0, 6)).toBe('de0014');
    expect(tsToLua(object)).toBe(run(`return show(${expr})`));
  });
});

describe('round trips', () => {
  it('decodes a nested Lua structure in TypeScript', () => {
    const value = luaToTs(`{
      name = "luact", version = 3, ratio = 0.5, enabled = true,
      tags = {"a", "b", "c"},
      limits = {cpu = 1.5, memory = 1 << 30, big = 1 << 60},
      sparse = {[1] = "one", [3] = "three"},
      blob = "\\xde\\xad\\xbe\\xef",
      empty = {},
      nested = {{{{"deep"}}}},
    }`);
    expect(value).toEqual({
      name: 'luact',
      version: 3,
      ratio: 0.5,
      enabled: true,
      tags: ['a', 'b', 'c'],
      limits: { cpu: 1.5, memory: 2 ** 30, big: 2n ** 60n },
      sparse: new Map([
        [1, 'one'],
        [3, 'three'],
      ]),
      blob: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      empty: {},
      nested: [[[['deep']]]],
    });
  });

  it('decodes a nested TypeScript structure in Lua and back', () => {
    const value = {
      id: 'order-1',
      total: 12.25,
      count: 7,
      at: 1_732_550_400_123, // ms timestamp: beyond 32 bits, must stay an integer
      lines: [
        { sku: 'x', qty: 2 },
        { sku: 'y', qty: 1 },
      ],
      byId: new Map<unknown, unknown>([
        [10, 'ten'],
        [true, [1, 2]],
      ]),
      raw: new Uint8Array([0, 1, 2, 254, 255]),
      skipped: undefined,
      big: 2n ** 62n,
    };
    expect(tsToLua(value)).toBe(
      '{["at"]=1732550400123,["big"]=4611686018427387904,' +
        '["byId"]={[10]="ten",[true]={[1]=1,[2]=2}},["count"]=7,["id"]="order-1",' +
        '["lines"]={[1]={["qty"]=2,["sku"]="x"},[2]={["qty"]=1,["sku"]="y"}},' +
        '["raw"]=x:000102feff,["total"]=f:12.25}',
    );
    const back = decodeValue(
      unhex(run(`return tohex(plain.encode(plain.decode(fromhex('${hex(encodeValue(value))}'))))`)),
    );
    const { skipped: _, ...expected } = value;
    expect(back).toEqual(expected);
  });

  it('decodes arrays and maps of every size class, holes included', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 40]) {
      const keys = Array.from({ length: n }, (_, i) => `k${i}`);
      const map = `{${keys.map((k, i) => `${k} = ${i % 3 === 0 ? '{1.5}' : `"${k}"`}`).join(', ')}}`;
      expect(run(`return show(plain.decode(plain.encode(${map})))`)).toBe(
        run(`return show(${map})`),
      );
      expect(run(`return show(plain.decode(plain.encode(seq(${n}))))`)).toBe(
        run(`return show(seq(${n}))`),
      );
      const holes = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? null : i));
      const expected = `{${holes
        .flatMap((v, i) => (v === null ? [] : [`[${i + 1}]=${v}`]))
        .sort()
        .join(',')}}`;
      expect(tsToLua(holes)).toBe(expected);
      const intKeys = new Map(Array.from({ length: n }, (_, i) => [i * 10 - 5, i] as const));
      expect(tsToLua(intKeys)).toBe(
        `{${[...intKeys]
          .map(([k, v]) => `[${k}]=${v}`)
          .sort()
          .join(',')}}`,
      );
    }
  });

  it('keeps integers and floats apart from Lua to Lua', () => {
    const values =
      '{1, 1.0, -0.0, 2^53, 2^63, math.maxinteger, math.mininteger, 0.1, 1/0, -1/0, 3}';
    expect(run(`return show(plain.decode(plain.encode(${values})))`)).toBe(
      run(`return show(${values})`),
    );
    expect(run('return show(plain.decode(plain.encode(0/0)))')).toBe('f:nan');
    expect(run(`return math.type(plain.decode(plain.encode(1.0)))`)).toBe('float');
    expect(run(`return show(plain.decode(plain.encode(-0.0)))`)).toBe('f:-0');
  });

  it('turns integral floats into integers when they pass through a JS number (documented)', () => {
    const js = luaToTs('{1.0, 2.5, -0.0}');
    expect(js).toEqual([1, 2.5, -0]);
    expect(tsToLua(js)).toBe('{[1]=1,[2]=f:2.5,[3]=0}');
  });

  it('carries 64-bit extremes both ways', () => {
    expect(luaToTs('math.maxinteger')).toBe(9223372036854775807n);
    expect(luaToTs('math.mininteger')).toBe(-9223372036854775808n);
    expect(luaToTs('1 << 53')).toBe(2 ** 53);
    expect(luaToTs('(1 << 53) + 1')).toBe(2n ** 53n + 1n);
    expect(luaToTs('-(1 << 53) - 1')).toBe(-(2n ** 53n) - 1n);
    expect(tsToLua(2n ** 63n - 1n)).toBe(run('return tostring(math.maxinteger)'));
    expect(tsToLua(-(2n ** 63n))).toBe(run('return tostring(math.mininteger)'));
    expect(tsToLua(2 ** 53)).toBe('9007199254740992');
    expect(tsToLua(-(2 ** 40))).toBe('-1099511627776');
    expect(tsToLua(1e20)).toBe('f:1e+20'); // beyond 2^53 a JS number is a float
    // uint64 above math.maxinteger wraps to the same 64 bits (documented)
    expect(tsToLua(2n ** 64n - 1n)).toBe('-1');
    expect(tsToLua(2n ** 63n)).toBe(run('return tostring(math.mininteger)'));
  });

  it('carries every byte value and invalid UTF-8 from Lua to TS and back unchanged', () => {
    const all = luaToTs('bytes256()');
    expect(all).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
    const value = `{bytes256(), "\\xc3\\x28", "\\xed\\xa0\\x80", "\\0\\0", ["\\xff\\xfe"] = "\\x80", ok = "\\0x"}`;
    const tsHex = hex(encodeValue(luaToTs(value)));
    expect(run(`return show(plain.decode(fromhex('${tsHex}')))`)).toBe(
      run(`return show(${value})`),
    );
    expect(run(`return tostring(plain.decode(fromhex('${tsHex}'))[1] == bytes256())`)).toBe('true');
  });

  it('carries error objects as ext 1 from Lua to LuactError', () => {
    const value = luaToTsWithErrors(`{ok = false, err = setmetatable({kind = "NOT_FOUND",
      message = "no such order", retryable = false, details = {id = 7, path = {"a", "b"}}}, ErrMT)}`);
    expect(value).toEqual({ ok: false, err: expect.any(LuactError) });
    const err = (value as { err: LuactError }).err;
    expect(err.toData()).toEqual({
      kind: 'NOT_FOUND',
      message: 'no such order',
      retryable: false,
      details: { id: 7, path: ['a', 'b'] },
    });
    const odd = luaToTsWithErrors('setmetatable({kind = "WEIRD", message = "?"}, ErrMT)');
    expect((odd as LuactError).toData()).toEqual({
      kind: 'UNKNOWN',
      message: '?',
      retryable: true,
    });
    expect(
      run('return tohex(codec.encode(setmetatable({kind = "X", message = ""}, ErrMT))):sub(1, 6)'),
    ).toMatch(/^c7..01$/);
  });

  it('carries LuactError from TS to a Lua error object as ext 1', () => {
    const bytes = encodeValue([new LuactError('TIMEOUT', 'too slow', { details: { ms: 250 } })]);
    expect(hex(bytes).slice(2, 4)).toBe('c7'); // ext 8 …
    expect(hex(bytes).slice(6, 8)).toBe('01'); // … of type 1
    expect(tsToLua([new LuactError('TIMEOUT', 'too slow', { details: { ms: 250 } })])).toBe(
      '{[1]=E{["details"]={["ms"]=250},["kind"]="TIMEOUT",["message"]="too slow",["retryable"]=true}}',
    );
    expect(tsToLua(new RangeError('boom'))).toBe(
      'E{["kind"]="INTERNAL",["message"]="boom",["retryable"]=true}',
    );
    // and back again: Lua re-encodes its error object, TS sees the same error
    const again = decodeValue(
      unhex(
        run(
          `return tohex(codec.encode(codec.decode(fromhex('${hex(encodeValue(new LuactError('CONFLICT', 'taken', { retryable: true })))}'))))`,
        ),
      ),
    );
    expect((again as LuactError).toData()).toEqual({
      kind: 'CONFLICT',
      message: 'taken',
      retryable: true,
    });
  });

  it('frames argument lists with nils in the middle and at the end', () => {
    expect(
      decodeValues(unhex(run('return tohex(plain.encode_values(5, 1, nil, "x", nil, nil))'))),
    ).toEqual([1, null, 'x', null, null]);
    expect(run('return tohex(plain.encode_values(0))')).toBe('90');
    expect(run('return tohex(plain.encode_values(2))')).toBe('92c0c0');
    expect(run('return tohex(plain.encode_values(12, 1, 2, 3, 4, 5, 6, 7, 8, 9, nil, 11))')).toBe(
      hex(encodeValues([1, 2, 3, 4, 5, 6, 7, 8, 9, undefined, 11, undefined])),
    );
    const fromTs = hex(encodeValues([undefined, 2, undefined, 'z', undefined]));
    expect(fromTs).toBe(run('return tohex(plain.encode_values(5, nil, 2, nil, "z", nil))'));
    expect(
      run(`
        local s = fromhex('${fromTs}')
        local n, a, b, c, d, e = plain.decode_values(s)
        return table.concat({n, select('#', plain.decode_values(s)), tostring(a), b, tostring(c), d,
          tostring(e)}, ' ')
      `),
    ).toBe('5 6 nil 2 nil z nil');
    expect(run(`return show({plain.decode_values(plain.encode_values(0))})`)).toBe('{[1]=0}');
  });

  it('writes one scalar as the general encoder does, at every width boundary, and reads it back', () => {
    // Each value as encode_one writes it, as the general encoder writes {v}, and decoded again.
    const scalars = [
      '0',
      '127',
      '128',
      '255',
      '256',
      '65535',
      '65536',
      '4294967295',
      '4294967296',
      'math.maxinteger',
      '-1',
      '-32',
      '-33',
      '-128',
      '-129',
      '-32768',
      '-32769',
      '-2147483648',
      '-2147483649',
      'math.mininteger',
      '0.5',
      '-0.0',
      '1/0',
      '1e300',
      '3.0',
      '""',
      '"x"',
      'string.rep("a", 31)',
      'string.rep("a", 32)',
      'string.rep("a", 255)',
      'string.rep("a", 256)',
      'string.rep("a", 65536)',
      '"\\255"',
      'string.rep("\\255", 300)',
      'string.rep("\\255", 65536)',
      'true',
      'false',
      'nil',
    ];
    for (const scalar of scalars) {
      const result = run(`
        local v = ${scalar}
        local one = plain.encode_one(v)
        local general = v == nil and '\\x91\\xc0' or plain.encode({v})
        local n, back = plain.decode_values(one)
        return tohex(one) == tohex(general) and n == 1 and math.type(back) == math.type(v)
          and (back == v or back ~= back and v ~= v) and tostring(back) == tostring(v)
          and 'same' or 'differs: ' .. tohex(one) .. ' ' .. tohex(general) .. ' ' .. tostring(back)
      `);
      expect({ scalar, result }).toEqual({ scalar, result: 'same' });
    }
    expect(run('return tostring(plain.encode_one({}))')).toBe('nil');
    expect(run('return tostring(plain.encode_one(print))')).toBe('nil');
    // A scalar wire.ts wrote in a width Lua never writes (uint64, float32) reads back too.
    expect(run(`return show({plain.decode_values(fromhex('91cf0000000000000005'))})`)).toBe(
      '{[1]=1,[2]=5}',
    );
    expect(run(`return show({plain.decode_values(fromhex('91ca3f000000'))})`)).toBe(
      '{[1]=1,[2]=f:0.5}',
    );
  });

  it('refuses a one-scalar array cut short or followed by more bytes', () => {
    for (const bytes of ['91cd01', '91cb3ff0', '91d904616263', '91a261', '91cd0100ff']) {
      expect(run(`return catch(plain.decode_values, fromhex('${bytes}'))`)).toMatch(
        /^msgpack: (truncated input|trailing bytes)/,
      );
    }
  });
});

/** Like luaToTs, through the Lua codec that knows the error ext. */
function luaToTsWithErrors(expr: string): unknown {
  return decodeValue(unhex(run(`return tohex(codec.encode(${expr}))`)));
}

describe('bad input is a clear Lua error', () => {
  it('refuses functions, threads and userdata, naming the path', () => {
    expect(run('return catch(plain.encode, {handlers = {callback = print}})')).toBe(
      "msgpack: cannot encode a function (at key 'handlers.callback')",
    );
    expect(run('return catch(plain.encode, {1, {2, print}})')).toBe(
      "msgpack: cannot encode a function (at key '[2][2]')",
    );
    expect(run('return catch(plain.encode, print)')).toBe('msgpack: cannot encode a function');
    expect(run('return catch(plain.encode, {co = coroutine.create(print)})')).toBe(
      "msgpack: cannot encode a thread (at key 'co')",
    );
    expect(run('return catch(plain.encode, {out = io.stdout})')).toBe(
      "msgpack: cannot encode a userdata (at key 'out')",
    );
    expect(run('return catch(plain.encode, {a = {[{}] = 1}})')).toBe(
      "msgpack: cannot encode a map key of type table (at key 'a')",
    );
  });

  it('blames the caller of the codec', () => {
    expect(
      run('local ok, e = pcall(function() local s = plain.encode(print); return s end) return e'),
    ).toMatch(/^\[string .*\]:1: msgpack: cannot encode a function$/);
  });

  it('refuses cycles', () => {
    expect(run('local t = {} t.self = t return catch(plain.encode, t)')).toBe(
      "msgpack: cannot encode a table that contains itself (at key 'self')",
    );
    expect(run('local t = {a = {b = {}}} t.a.b.c = t.a return catch(plain.encode, {1, t})')).toBe(
      "msgpack: cannot encode a table that contains itself (at key '[2].a.b.c')",
    );
  });

  it('refuses nesting deeper than max_depth on encode and decode', () => {
    const nest = (n: number) => `local t = 1 for _ = 1, ${n} do t = {t} end`;
    expect(run(`${nest(64)} return tostring(#plain.encode(t))`)).toBe('65');
    expect(run(`${nest(65)} return catch(plain.encode, t)`)).toMatch(
      /^msgpack: cannot encode a value nested deeper than max_depth \(64\) \(at key '(\[1\]){64}'\)$/,
    );
    expect(run(`${nest(3)} return catch(new_codec({max_depth = 2}).encode, t)`)).toMatch(
      /nested deeper than max_depth \(2\)/,
    );
    const deep = `${'91'.repeat(65)}01`;
    expect(run(`return catch(plain.decode, fromhex('${deep}'))`)).toBe(
      'msgpack: input nested deeper than max_depth (64) at byte 65',
    );
    expect(run(`return show(new_codec({max_depth = 65}).decode(fromhex('${deep}')))`)).toMatch(
      /^\{\[1\]=/,
    );
    expect(() => decodeValue(unhex(deep))).toThrow(/nested deeper than 64/);
  });

  it('reports truncated input with its byte offset at every cut', () => {
    const full = run(
      'return tohex(plain.encode({a = 1.5, b = "hello", c = {1, 300, 70000, -5}, d = "\\xff\\xfe"}))',
    );
    for (let cut = 0; cut < full.length / 2; cut++) {
      const message = run(`return catch(plain.decode, fromhex('${full.slice(0, cut * 2)}'))`);
      expect(message).toMatch(/^msgpack: truncated input at byte \d+$/);
      expect(() => decodeValue(unhex(full.slice(0, cut * 2)))).toThrow();
    }
    expect(run(`return catch(plain.decode, '')`)).toBe('msgpack: truncated input at byte 1');
    expect(run(`return catch(plain.decode, fromhex('9201cd01'))`)).toBe(
      'msgpack: truncated input at byte 3',
    );
    expect(run(`return catch(plain.decode, fromhex('dcffff01'))`)).toBe(
      'msgpack: truncated input at byte 1',
    );
    // a map whose remaining entries were promised but ran out, small and presized paths
    expect(run(`return catch(plain.decode, fromhex('8201cd0001'))`)).toBe(
      'msgpack: truncated input at byte 6',
    );
    expect(run(`return catch(plain.decode, fromhex('8501cd0001cd0001cd0001cd0001'))`)).toBe(
      'msgpack: truncated input at byte 15',
    );
  });

  it('refuses unknown ext types, trailing bytes, 0xc1 and odd map keys', () => {
    expect(run(`return catch(plain.decode, fromhex('d40500'))`)).toBe(
      'msgpack: unknown ext type 5 at byte 1',
    );
    expect(run(`return catch(plain.decode, fromhex('c700ff'))`)).toBe(
      'msgpack: unknown ext type -1 at byte 1',
    );
    expect(() => decodeValue(unhex('d40500'))).toThrow(/Unknown extension/);
    expect(run(`return catch(plain.decode, fromhex('0102'))`)).toBe(
      'msgpack: trailing bytes after the value at byte 2',
    );
    expect(run(`return catch(plain.decode, fromhex('91c1'))`)).toBe(
      'msgpack: invalid byte 0xc1 at byte 2',
    );
    expect(run(`return catch(plain.decode, fromhex('81c001'))`)).toBe(
      'msgpack: map key is nil in the map at byte 1',
    );
    const nanKey = hex(encodeValue(new Map([[Number.NaN, 1]])));
    expect(run(`return catch(plain.decode, fromhex('${nanKey}'))`)).toBe(
      'msgpack: map key is NaN in the map at byte 1',
    );
    expect(run('return catch(plain.decode, 42)')).toBe(
      'msgpack: cannot decode a number, expected a string',
    );
    expect(run('return catch(plain.decode_values, plain.encode({}))')).toBe(
      'msgpack: decode_values expects an array',
    );
  });

  it('checks what encode_ext returns', () => {
    expect(
      run(`
        local bad = new_codec({encode_ext = function() return 300, "x" end})
        return catch(bad.encode, {setmetatable({}, {})})
      `),
    ).toBe('msgpack: encode_ext must return an integer ext type in -128..127 and a string payload');
    // a declined table with a metatable is an ordinary table
    expect(run('return tohex(codec.encode(setmetatable({1}, {})))')).toBe('9101');
  });

  it('writes every ext size class', () => {
    const sizes = [0, 1, 2, 3, 4, 8, 16, 17, 255, 256, 65536];
    const out = run(`
      local out = {}
      for _, size in ipairs({${sizes.join(', ')}}) do
        local c = new_codec({
          encode_ext = function(v) return 9, string.rep('z', size) end,
          decode_ext = function(t, p) return {t, #p} end,
        })
        local s = c.encode(setmetatable({}, {}))
        local back = c.decode(s)
        out[#out + 1] = tohex(s:sub(1, 6)) .. ':' .. back[1] .. ':' .. back[2]
      end
      return table.concat(out, ' ')
    `);
    expect(out.split(' ')).toEqual([
      'c70009:9:0',
      'd4097a:9:1',
      'd5097a7a:9:2',
      'c703097a7a7a:9:3',
      'd6097a7a7a7a:9:4',
      'd7097a7a7a7a:9:8',
      'd8097a7a7a7a:9:16',
      'c711097a7a7a:9:17',
      'c7ff097a7a7a:9:255',
      'c80100097a7a:9:256',
      'c90001000009:9:65536',
    ]);
  });
});
