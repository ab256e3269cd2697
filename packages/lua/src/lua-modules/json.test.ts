import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlainEngine, plainEngine } from '../testing/plain-engine.js';

/**
 * Tests for lua/json.lua, run in a plain wasmoon engine. Values cross the Lua/JS boundary only as
 * strings, numbers and booleans computed in Lua (wasmoon cuts strings at NUL bytes and turns
 * Lua integers into JS numbers), so exact comparisons happen on the Lua side or on JSON text.
 */

let engine: PlainEngine;
const run = (code: string) => engine.run(code);
const withText = (text: string, code: string) => engine.withText(text, code);

beforeAll(async () => {
  engine = await plainEngine(
    'json',
    `
    array_mt = {}
    json = assert(load(SOURCE, '=json.lua'))({
      new_error = function(kind, msg) return { kind = kind, message = msg } end,
      array_mt = array_mt,
    })

    -- structural equality that also tells integers from floats (metatables are ignored)
    function deep_equal(a, b)
      if type(a) ~= type(b) then return false end
      if type(a) == 'number' then
        return math.type(a) == math.type(b) and a == b
          and (a ~= 0 or math.type(a) == 'integer' or 1 / a == 1 / b)
      end
      if type(a) ~= 'table' then return a == b end
      for k, v in pairs(a) do
        if not deep_equal(v, b[k]) then return false end
      end
      for k in pairs(b) do
        if a[k] == nil then return false end
      end
      return true
    end

    function roundtrips(v)
      local decoded, err = json.decode(json.encode(v))
      assert(err == nil, err and err.message)
      return deep_equal(v, decoded)
    end

    -- "kind: message" of a failed decode, or a description of the unexpected success
    function decode_error(text)
      local v, err = json.decode(text)
      if err == nil then return 'decoded without error: ' .. tostring(v) end
      if v ~= nil then return 'value and error both set' end
      return err.kind .. ': ' .. err.message
    end

    -- "kind: message" of a failed encode, or the text of an unexpected success
    function encode_error(v)
      local text, err = json.encode(v)
      if err == nil then return 'encoded without error: ' .. tostring(text) end
      if text ~= nil then return 'text and error both set' end
      return err.kind .. ': ' .. err.message
    end

    -- the message of an error raised by fn, or 'no error'
    function raised(fn, ...)
      local ok, err = pcall(fn, ...)
      if ok then return 'no error' end
      return tostring(err)
    end
  `,
  );
});

afterAll(() => {
  engine.close();
});

describe('json.encode', () => {
  it.each([
    ['nil', 'nil', 'null'],
    ['json.null', 'json.null', 'null'],
    ['true', 'true', 'true'],
    ['false', 'false', 'false'],
    ['an integer', '42', '42'],
    ['a negative integer', '-7', '-7'],
    ['math.maxinteger', 'math.maxinteger', '9223372036854775807'],
    ['math.mininteger', 'math.mininteger', '-9223372036854775808'],
    ['0.1 (shortest round-tripping digits)', '0.1', '0.1'],
    ['1/3', '1/3', '0.3333333333333333'],
    ['1e300', '1e300', '1e+300'],
    ['5e-324 (subnormal)', '5e-324', '4.94065645841247e-324'],
    ['an integral float', '1.0', '1.0'],
    ['a large integral float', '2^53', '9007199254740992.0'],
    ['negative zero', '-0.0', '-0.0'],
    ['an empty table (as an array)', '{}', '[]'],
    ['an empty json.object()', 'json.object()', '{}'],
    ['an empty json.array()', 'json.array()', '[]'],
    ['an empty table with deps.array_mt', 'setmetatable({}, array_mt)', '[]'],
    ['a sequence', '{1, "two", false}', '[1,"two",false]'],
    ['json.null inside an array', '{1, json.null, 3}', '[1,null,3]'],
    [
      'mixed keys, sorted by their string form',
      '{b = 1, a = 2, [10] = 3, [2] = 4}',
      '{"10":3,"2":4,"a":2,"b":1}',
    ],
    ['json.null in an object', '{a = json.null}', '{"a":null}'],
    [
      'nested tables',
      '{list = {{}, json.array(), json.object(), {x = {1}}}}',
      '{"list":[[],[],{},{"x":[1]}]}',
    ],
    [
      'a table referenced twice without a cycle',
      '(function() local s = {1} return {s, s} end)()',
      '[[1],[1]]',
    ],
    [
      'a non-empty table with deps.array_mt but object keys',
      'setmetatable({a = 1}, array_mt)',
      '{"a":1}',
    ],
    ['escapes', '"q\\" b\\\\ s/ \\b\\f\\n\\r\\t"', '"q\\" b\\\\ s/ \\b\\f\\n\\r\\t"'],
    ['other control characters as \\u00XX', '"\\0\\1\\31\\127"', '"\\u0000\\u0001\\u001f\u007f"'],
    ['non-ASCII UTF-8 as is', '"é ☃ 😀"', '"é ☃ 😀"'],
    ['escapes in keys', '{["a\\"\\n"] = 1}', '{"a\\"\\n":1}'],
  ])('writes %s', async (_name, expression, expected) => {
    expect(await run(`return json.encode(${expression})`)).toBe(expected);
  });

  it('produces text that JSON.parse reads as the same value', async () => {
    const cases: [string, unknown][] = [
      [
        `{ a = {1, 2, 3}, b = "x\\"y\\\\z\\n\\t\\1", c = true, d = json.null, e = 0.1, f = -12,
           g = 1e300, h = json.array(), i = json.object(), ["ü"] = "😀", j = 1.0, k = {{{}}} }`,
        {
          a: [1, 2, 3],
          b: 'x"y\\z\n\t\u0001',
          c: true,
          d: null,
          e: 0.1,
          f: -12,
          g: 1e300,
          h: [],
          i: {},
          ü: '😀',
          j: 1,
          k: [[[]]],
        },
      ],
      [
        '(function() local t = {} for c = 0, 127 do t[#t + 1] = string.char(c) end return table.concat(t) end)()',
        Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)).join(''),
      ],
      [
        '{ 1.5, -2.25e-10, 123456789.123, 2^-1074, 1.7976931348623157e308, -0.0 }',
        [1.5, -2.25e-10, 123456789.123, 2 ** -1074, 1.7976931348623157e308, -0],
      ],
      ['{ [1] = "a", [2] = "b", [4] = "d", n = 3 }', { 1: 'a', 2: 'b', 4: 'd', n: 3 }],
      ['"\\u{10FFFF}\\u{FFFF}\\u{800}"', '\u{10FFFF}\u{FFFF}\u{800}'],
    ];
    for (const [expression, expected] of cases) {
      const text = await run(`return json.encode(${expression})`);
      expect(typeof text).toBe('string');
      expect(JSON.parse(text as string)).toEqual(expected);
    }
  });

  it('writes objects with sorted keys exactly like JSON.stringify for plain data', async () => {
    const text = await run(
      'return json.encode({ z = 1, a = { y = "s", b = { true, false } }, m = "é" })',
    );
    expect(text).toBe(JSON.stringify({ a: { b: [true, false], y: 's' }, m: 'é', z: 1 }));
  });

  it.each([
    [
      'a sequence with a hole',
      '{1, nil, 3}',
      'json.encode: cannot encode a sparse array (integer keys with gaps, up to 3 for 2 values); use json.null for a missing value',
    ],
    [
      'a sequence not starting at 1',
      '{[2] = "b", [3] = "c"}',
      'json.encode: cannot encode a sparse array (integer keys with gaps, up to 3 for 2 values); use json.null for a missing value',
    ],
    [
      'a table with key 0',
      '{[0] = "z", [1] = "a"}',
      'json.encode: cannot encode a sparse array (integer keys not starting at 1)',
    ],
    [
      'negative integer keys',
      '{[-1] = true}',
      'json.encode: cannot encode a sparse array (integer keys not starting at 1)',
    ],
    ['NaN', '0/0', 'json.encode: cannot encode NaN as JSON'],
    ['inf', 'math.huge', 'json.encode: cannot encode inf as JSON'],
    ['-inf', '-math.huge', 'json.encode: cannot encode inf as JSON'],
    ['NaN nested', '{ x = { 0/0 } }', 'json.encode: cannot encode NaN as JSON'],
    ['a function', 'print', 'json.encode: cannot encode a function as JSON'],
    [
      'a nested function',
      '{ f = function() end }',
      'json.encode: cannot encode a function as JSON',
    ],
    ['a coroutine', 'coroutine.create(print)', 'json.encode: cannot encode a thread as JSON'],
    [
      'a self cycle',
      '(function() local t = {} t.self = t return t end)()',
      'json.encode: cannot encode a cyclic table',
    ],
    [
      'an indirect cycle',
      '(function() local a = { b = {} } a.b.list = { a } return a end)()',
      'json.encode: cannot encode a cyclic table',
    ],
    [
      'a cycle through an array',
      '(function() local a = {} a[1] = a return a end)()',
      'json.encode: cannot encode a cyclic table',
    ],
    [
      'a boolean key',
      '{ [true] = 1 }',
      'json.encode: cannot encode an object key of type boolean (true); keys must be strings or integers',
    ],
    [
      'a float key',
      '{ [1.5] = 1 }',
      'json.encode: cannot encode an object key of type float (1.5); keys must be strings or integers',
    ],
    [
      'a table key',
      '{ [json.null] = 1 }',
      'json.encode: cannot encode an object key of type table (json.null); keys must be strings or integers',
    ],
    [
      'keys 1 and "1" together',
      '{ [1] = "a", ["1"] = "b", [3] = "c" }',
      'json.encode: cannot encode two keys with the same string form ("1")',
    ],
    ['invalid UTF-8', '"\\xff"', 'json.encode: cannot encode invalid UTF-8 in a string'],
    [
      'an encoded surrogate',
      '"\\xed\\xa0\\x80"',
      'json.encode: cannot encode invalid UTF-8 in a string',
    ],
    [
      'an invalid UTF-8 key',
      '{ ["\\xc3"] = 1 }',
      'json.encode: cannot encode invalid UTF-8 in an object key',
    ],
    [
      'nesting deeper than MAX_DEPTH',
      '(function() local t = {} local r = t for i = 1, json.MAX_DEPTH do r[1] = {} r = r[1] end return t end)()',
      'json.encode: nesting deeper than 1000 levels',
    ],
  ])('fails on %s with an INTERNAL error', async (_name, expression, message) => {
    expect(await run(`return encode_error(${expression})`)).toBe(`INTERNAL: ${message}`);
  });

  it('returns its error instead of raising it', async () => {
    expect(await run('return raised(json.encode, { f = print })')).toBe('no error');
    expect(await run('return select("#", json.encode({ f = print }))')).toBe(2);
  });

  it('accepts nesting up to MAX_DEPTH', async () => {
    const length = await run(`
      local t = {} local r = t
      for i = 1, json.MAX_DEPTH - 1 do r[1] = {} r = r[1] end
      return #json.encode(t)
    `);
    expect(length).toBe(2000);
  });
});

describe('json.decode', () => {
  it.each([
    [
      'nested tables',
      '{ a = { b = { c = { 1, 2, { d = "e" } } } }, list = { true, false, json.null } }',
    ],
    ['unicode', '"héllo wörld ☃ 😀 中文 \\u{10FFFF}"'],
    ['escapes', '"quote\\" backslash\\\\ slash/ \\b\\f\\n\\r\\t \\0 \\1 \\31 \\127"'],
    [
      'big and negative integers',
      '{ math.maxinteger, math.mininteger, -1, 0, 9007199254740993, -9007199254740993 }',
    ],
    [
      'floats',
      '{ 0.1, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, math.pi, 1/3, 123456789.123, 1e21, 1e-7 }',
    ],
    ['integral floats', '{ 1.0, -3.0, 2^53, 2^63, -2^63, 1e15, 1e16 }'],
    ['negative zero', '-0.0'],
    ['json.null in arrays', '{ json.null, 1, json.null }'],
    ['integer-like string keys', '{ ["1"] = "a", ["2"] = "b" }'],
    ['empty tables', '{ {}, json.array(), { x = {} } }'],
    ['a string with NUL bytes', '"a\\0b\\0"'],
  ])('round-trips %s', async (_name, expression) => {
    expect(await run(`return roundtrips(${expression})`)).toBe(true);
  });

  it('reads floats back to exactly the same float', async () => {
    const result = await run(`
      math.randomseed(7)
      for i = 1, 2000 do
        local x = string.unpack('<d', string.pack('<i8', math.random(0)))
        if x == x and x ~= math.huge and x ~= -math.huge then
          local y = json.decode(json.encode(x))
          if y ~= x or math.type(y) ~= 'float' then return string.format('%.17g', x) end
        end
      end
      return 'ok'
    `);
    expect(result).toBe('ok');
  });

  it('reads numbers as integers or floats like Lua numerals', async () => {
    const text =
      '[1, 1.0, 1e2, -0, 9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809, 0.1, 1E-2, 2e+3, 0]';
    const described = await withText(
      text,
      `
      local out = {}
      for _, v in ipairs(json.decode(TEXT)) do
        out[#out + 1] = math.type(v) .. ' ' .. string.format(math.type(v) == 'integer' and '%d' or '%.17g', v)
      end
      return table.concat(out, ', ')
    `,
    );
    expect(described).toBe(
      [
        'integer 1',
        'float 1',
        'float 100',
        'integer 0',
        'integer 9223372036854775807',
        'float 9.2233720368547758e+18',
        'integer -9223372036854775808',
        'float -9.2233720368547758e+18',
        'float 0.10000000000000001',
        'float 0.01',
        'float 2000',
        'integer 0',
      ].join(', '),
    );
  });

  it('reads escapes, surrogate pairs and raw UTF-8', async () => {
    expect(
      await withText(
        '"\\u00e9\\u4E2D\\ud83d\\ude00\\u0041\\/\\"\\\\\\b\\f\\n\\r\\t"',
        'return json.decode(TEXT)',
      ),
    ).toBe('é中😀A/"\\\b\f\n\r\t');
    expect(await withText('"\\uD834\\uDD1E \\udbff\\udfff"', 'return json.decode(TEXT)')).toBe(
      '\u{1D11E} \u{10FFFF}',
    );
    expect(await withText('"é ☃ 😀"', 'return json.decode(TEXT)')).toBe('é ☃ 😀');
    expect(await withText('"a\\u0000b"', 'return json.decode(TEXT) == "a\\0b"')).toBe(true);
  });

  it('reads strings longer than the windows it searches them in, escapes on every side of their edges', async () => {
    // The windows double from 256 bytes to 64 KiB: a run of plain characters ending just
    // before, at and just after each edge, then an escape; and a string that never ends.
    expect(
      await run(`
        local ok, edge, window = true, 0, 256
        while edge < 200000 do
          edge = edge + window
          for len = edge - 1, edge + 1 do
            local text = '"' .. string.rep("a", len) .. "\\\\n" .. 'bbb"'
            if json.decode(text) ~= string.rep("a", len) .. "\\nbbb" then ok = false end
          end
          if window < 65536 then window = window * 2 end
        end
        local _, err = json.decode('"' .. string.rep("c", 200007))
        return tostring(ok) .. " " .. err.message
      `),
    ).toBe('true json: unterminated string starting at position 1');
  });

  it('accepts whitespace around every token', async () => {
    expect(
      await withText(
        ' \t\r\n[ 1 ,\n{ "a" : 2 , "b":[ ] } , "x" ]\n ',
        'return json.encode(json.decode(TEXT))',
      ),
    ).toBe('[1,{"a":2,"b":[]},"x"]');
  });

  it('decodes null to json.null in arrays, to an absent key in objects and to nil at the top', async () => {
    expect(
      await withText(
        '[null, 1, null]',
        'local a = json.decode(TEXT) return #a == 3 and a[1] == json.null and a[2] == 1 and a[3] == json.null',
      ),
    ).toBe(true);
    expect(
      await withText(
        '{"a": null, "b": 1}',
        'local o = json.decode(TEXT) return rawget(o, "a") == nil and o.b == 1 and next(o, next(o)) == nil',
      ),
    ).toBe(true);
    expect(
      await withText(
        'null',
        'local v, err = json.decode(TEXT) return select("#", json.decode(TEXT)) >= 1 and v == nil and err == nil',
      ),
    ).toBe(true);
  });

  it('marks arrays with deps.array_mt and empty objects as objects, so both re-encode as they were', async () => {
    expect(
      await withText(
        '{"a": [], "b": {}, "c": [[]]}',
        `local v = json.decode(TEXT)
         return getmetatable(v.a) == array_mt and getmetatable(v.b) == 'json.object'
           and getmetatable(v.c) == array_mt and getmetatable(v) == nil and json.encode(v)`,
      ),
    ).toBe('{"a":[],"b":{},"c":[[]]}');
    expect(await withText('[]', 'return json.encode(json.decode(TEXT))')).toBe('[]');
    expect(await withText('{}', 'return json.encode(json.decode(TEXT))')).toBe('{}');
  });

  it('keeps the last of duplicate keys', async () => {
    expect(await withText('{"a": 1, "a": 2}', 'return json.decode(TEXT).a')).toBe(2);
  });

  it('decodes scalars at the top level', async () => {
    expect(await withText(' true ', 'return json.decode(TEXT)')).toBe(true);
    expect(await withText('false', 'return json.decode(TEXT) == false')).toBe(true);
    expect(await withText('"s"', 'return json.decode(TEXT)')).toBe('s');
    expect(await withText('-12.5e1', 'return json.decode(TEXT)')).toBe(-125);
  });

  it('decodes MAX_DEPTH levels of nesting', async () => {
    expect(
      await run('return #json.encode(json.decode(string.rep("[", 1000) .. string.rep("]", 1000)))'),
    ).toBe(2000);
  });

  it.each([
    ['empty input', '', 'json: unexpected end of input at position 1 (expected a JSON value)'],
    [
      'only whitespace',
      ' \n ',
      'json: unexpected end of input at position 4 (expected a JSON value)',
    ],
    [
      'an unknown character',
      '?',
      "json: unexpected character '?' at position 1 (expected a JSON value)",
    ],
    [
      'a capitalised literal',
      'True',
      "json: unexpected character 'T' at position 1 (expected a JSON value)",
    ],
    ['a truncated literal', 'tru', "json: unexpected end of input at position 4 (expected 'true')"],
    [
      'a misspelt literal',
      '[nul1]',
      "json: unexpected character '1' at position 5 (expected 'null')",
    ],
    [
      'a misspelt false',
      'fals e',
      "json: unexpected character ' ' at position 5 (expected 'false')",
    ],
    [
      'trailing garbage',
      '{"a":1} x',
      "json: unexpected character 'x' at position 9 (expected end of input)",
    ],
    [
      'a second value',
      '1 2',
      "json: unexpected character '2' at position 3 (expected end of input)",
    ],
    [
      'an unclosed array',
      '[1,2',
      "json: unexpected end of input at position 5 (expected ',' or ']')",
    ],
    [
      'a missing comma',
      '[1 2]',
      "json: unexpected character '2' at position 4 (expected ',' or ']')",
    ],
    [
      'a trailing comma in an array',
      '[1,]',
      "json: unexpected character ']' at position 4 (expected a JSON value)",
    ],
    [
      'a leading comma in an array',
      '[,1]',
      "json: unexpected character ',' at position 2 (expected a JSON value)",
    ],
    [
      'a trailing comma in an object',
      '{"a":1,}',
      "json: unexpected character '}' at position 8 (expected a string key)",
    ],
    [
      'an unquoted key',
      '{a:1}',
      "json: unexpected character 'a' at position 2 (expected a string key)",
    ],
    [
      'a number key',
      '{1:1}',
      "json: unexpected character '1' at position 2 (expected a string key)",
    ],
    ['a missing colon', '{"a" 1}', "json: unexpected character '1' at position 6 (expected ':')"],
    [
      'a missing member value',
      '{"a":}',
      "json: unexpected character '}' at position 6 (expected a JSON value)",
    ],
    [
      'an unclosed object',
      '{"a":1',
      "json: unexpected end of input at position 7 (expected ',' or '}')",
    ],
    [
      'a wrong closing bracket',
      '{"a":1]',
      "json: unexpected character ']' at position 7 (expected ',' or '}')",
    ],
    [
      'a control character outside strings',
      '[\t1,\u0001]',
      'json: unexpected character 0x01 at position 5 (expected a JSON value)',
    ],
    ['a leading zero', '[01]', 'json: invalid number at position 2 (leading zero)'],
    ['a negative leading zero', '-012', 'json: invalid number at position 1 (leading zero)'],
    ['a lone minus', '[-]', 'json: invalid number at position 2 (expected a digit at position 3)'],
    [
      'a minus before a letter',
      '-a',
      'json: invalid number at position 1 (expected a digit at position 2)',
    ],
    [
      'a dot without digits',
      '1.',
      'json: invalid number at position 1 (expected a digit at position 3)',
    ],
    [
      'a dot before the exponent',
      '1.e5',
      'json: invalid number at position 1 (expected a digit at position 3)',
    ],
    [
      'an exponent without digits',
      '1e+',
      'json: invalid number at position 1 (expected a digit at position 4)',
    ],
    ['a leading dot', '.5', "json: unexpected character '.' at position 1 (expected a JSON value)"],
    [
      'a leading plus',
      '+1',
      "json: unexpected character '+' at position 1 (expected a JSON value)",
    ],
    [
      'a hex number',
      '0x10',
      "json: unexpected character 'x' at position 2 (expected end of input)",
    ],
    ['a number too large for a float', '[1e400]', 'json: number out of range at position 2'],
    ['an unterminated string', '["abc', 'json: unterminated string starting at position 2'],
    ['a string ending in a backslash', '"a\\', 'json: unterminated string starting at position 1'],
    ['an unknown escape', '"a\\x"', "json: invalid escape '\\x' at position 3"],
    ['a single-quote escape', '"\\\'"', "json: invalid escape '\\'' at position 2"],
    [
      'a short unicode escape',
      '"\\u12"',
      'json: invalid unicode escape at position 2 (expected 4 hex digits)',
    ],
    [
      'a non-hex unicode escape',
      '"\\u12G4"',
      'json: invalid unicode escape at position 2 (expected 4 hex digits)',
    ],
    [
      'a lone high surrogate',
      '"x\\ud83d"',
      'json: invalid surrogate pair at position 3 (high surrogate \\ud83d without a low surrogate)',
    ],
    [
      'a high surrogate before a non-surrogate',
      '"\\ud83d\\u0041"',
      'json: invalid surrogate pair at position 2 (high surrogate \\ud83d without a low surrogate)',
    ],
    [
      'two high surrogates',
      '"\\ud83d\\ud83d"',
      'json: invalid surrogate pair at position 2 (high surrogate \\ud83d without a low surrogate)',
    ],
    [
      'a lone low surrogate',
      '"\\ude00"',
      'json: invalid surrogate pair at position 2 (low surrogate \\ude00 without a high surrogate)',
    ],
    [
      'a raw newline in a string',
      '"a\nb"',
      'json: unescaped control character 0x0A in string at position 3',
    ],
    [
      'a raw tab in a string',
      '["\t"]',
      'json: unescaped control character 0x09 in string at position 3',
    ],
    [
      'a non-ASCII character outside strings',
      '[é]',
      'json: unexpected character U+00E9 at position 2 (expected a JSON value)',
    ],
    [
      'a byte-order mark',
      '\uFEFF{}',
      'json: unexpected character U+FEFF at position 1 (expected a JSON value)',
    ],
  ])('reports %s with its position', async (_name, text, message) => {
    const kind = text === '' ? 'INVALID' : 'INTERNAL';
    expect(await withText(text, 'return decode_error(TEXT)')).toBe(`${kind}: ${message}`);
  });

  it.each([
    ['a stray continuation byte', `'"\\x80"'`, 'json: invalid UTF-8 byte 0x80 at position 2'],
    ['a truncated sequence', `'["ab\\xc3"]'`, 'json: invalid UTF-8 byte 0xC3 at position 5'],
    ['an overlong encoding', `'"\\xc0\\xaf"'`, 'json: invalid UTF-8 byte 0xC0 at position 2'],
    ['an encoded surrogate', `'" \\xed\\xa0\\x80"'`, 'json: invalid UTF-8 byte 0xED at position 3'],
    [
      'a NUL byte outside strings',
      '"[1,\\0]"',
      'json: unexpected character 0x00 at position 4 (expected a JSON value)',
    ],
    [
      'a NUL byte inside a string',
      '"[\\"\\0\\"]"',
      'json: unescaped control character 0x00 in string at position 3',
    ],
    [
      'nesting deeper than MAX_DEPTH',
      'string.rep("[", 1001) .. string.rep("]", 1001)',
      'json: nesting deeper than 1000 levels at position 1001',
    ],
  ])('reports %s with its position', async (_name, expression, message) => {
    expect(await run(`return decode_error(${expression})`)).toBe(`INTERNAL: ${message}`);
  });

  it('raises when given something other than a string', async () => {
    expect(await run('return raised(json.decode, 5)')).toMatch(
      /json\.decode: expected a string, got number$/,
    );
    expect(await run('return raised(json.decode)')).toMatch(
      /json\.decode: expected a string, got nil$/,
    );
  });
});

describe('json.null, json.array and json.object', () => {
  it('json.null is a read-only sentinel with a readable name', async () => {
    expect(await run('return tostring(json.null)')).toBe('json.null');
    expect(await run('return raised(function() json.null.x = 1 end)')).toMatch(
      /json\.null is read-only$/,
    );
    expect(await run('return getmetatable(json.null)')).toBe('json.null');
  });

  it('json.object marks a table (or a new one) as an object', async () => {
    expect(
      await run('local t = {} return json.object(t) == t and getmetatable(t) == "json.object"'),
    ).toBe(true);
    expect(await run('return json.encode({ a = json.object(), b = {} })')).toBe('{"a":{},"b":[]}');
    expect(await run('return json.encode(json.object({ 1, 2 }))')).toBe('[1,2]');
    expect(await run('return raised(json.object, json.array())')).toMatch(
      /json\.object: table already has a metatable$/,
    );
    expect(await run('return raised(json.object, 1)')).toMatch(
      /json\.object: expected a table or nil, got number$/,
    );
  });

  it('json.array marks a table (or a new one) as an array', async () => {
    expect(
      await run('local t = {1, 2} return json.array(t) == t and getmetatable(t) == array_mt'),
    ).toBe(true);
    expect(await run('return getmetatable(json.array()) == array_mt')).toBe(true);
    expect(await run('return raised(json.array, setmetatable({}, {}))')).toMatch(
      /json\.array: table already has a metatable$/,
    );
    expect(await run('return raised(json.array, "x")')).toMatch(
      /json\.array: expected a table or nil, got string$/,
    );
  });
});

describe('json.validate and json.validate_string', () => {
  beforeAll(async () => {
    await run(`
      -- "ok" or "KIND: message" of a validation
      function validated(ok, err)
        if ok == true and err == nil then return 'ok' end
        if ok ~= false then return 'unexpected result ' .. tostring(ok) end
        return err.kind .. ': ' .. err.message
      end
      PERSON = {
        type = "object",
        properties = { name = { type = "string", minLength = 1 }, age = { type = "integer", minimum = 0 } },
        required = { "name" },
      }
    `);
  });

  it.each([
    ['a matching object', 'PERSON', '{ name = "Ada", age = 36 }'],
    ['an integral float as an integer', 'PERSON', '{ name = "Ada", age = 36.0 }'],
    ['a schema given as JSON text', '\'{"type":"array","items":{"type":"number"}}\'', '{ 1, 2.5 }'],
    ['an empty table as an array', '{ type = "array", maxItems = 0 }', '{}'],
    ['an empty table as an object without properties', '{ type = "object" }', '{}'],
    ['json.null as null', '{ type = "null" }', 'json.null'],
    ['true, the schema that allows everything', 'true', '{ 1, { a = 2 } }'],
    ['enum', '{ enum = { "create", "update", 3 } }', '3.0'],
    ['const of a table', '{ const = { a = { 1, 2 } } }', '{ a = { 1, 2 } }'],
    ['anyOf', '{ anyOf = { { type = "string" }, { type = "integer" } } }', '7'],
    ['oneOf', '{ oneOf = { { minimum = 5 }, { maximum = 1 } } }', '9'],
    ['not', '{ ["not"] = { type = "string" } }', '1'],
    [
      'if/then/else',
      '{ ["if"] = { type = "integer" }, ["then"] = { minimum = 0 }, ["else"] = { type = "string" } }',
      '"x"',
    ],
    [
      'prefixItems and items',
      '{ prefixItems = { { type = "string" } }, items = { type = "integer" } }',
      '{ "a", 1, 2 }',
    ],
    ['uniqueItems', '{ uniqueItems = true }', '{ 1, 2, "1" }'],
    ['enum with tables and scalars', '{ enum = { "x", {}, { 1 } } }', 'json.array()'],
    [
      'an empty table typed as an object, ignoring array bounds',
      '{ type = "object", minItems = 1 }',
      '{}',
    ],
    ['contains', '{ contains = { const = 2 }, maxContains = 1 }', '{ 1, 2, 3 }'],
    [
      '$ref to $defs',
      '{ ["$defs"] = { id = { type = "string" } }, properties = { id = { ["$ref"] = "#/$defs/id" } } }',
      '{ id = "x" }',
    ],
    [
      'an unknown keyword and format (annotations)',
      '{ format = "email", x_custom = 1 }',
      '"not-an-email"',
    ],
    ['multipleOf', '{ multipleOf = 0.5 }', '2.5'],
    ['maxLength in characters', '{ maxLength = 2 }', '"éé"'],
    [
      'additionalProperties as a schema',
      '{ additionalProperties = { type = "boolean" } }',
      '{ a = true }',
    ],
  ])('accepts %s', async (_name, schema, value) => {
    expect(await run(`return validated(json.validate(${schema}, ${value}))`)).toBe('ok');
  });

  it.each([
    [
      'a missing required property',
      'PERSON',
      '{ age = 30 }',
      '/: missing required property "name"',
    ],
    ['a wrong type', 'PERSON', '{ name = 123 }', '/name: expected string, got integer'],
    [
      'a float where an integer is wanted',
      'PERSON',
      '{ name = "x", age = 1.5 }',
      '/age: expected integer, got float',
    ],
    ['minimum', 'PERSON', '{ name = "x", age = -1 }', '/age: -1 is less than the minimum 0'],
    ['minLength', 'PERSON', '{ name = "" }', '/name: expected at least 1 characters, got 0'],
    ['an array for an object', '{ type = "object" }', '{ 1 }', '/: expected object, got array'],
    [
      'a marked empty array for an object',
      '{ type = "object" }',
      'json.array()',
      '/: expected object, got array',
    ],
    [
      'additionalProperties false',
      '{ properties = { a = true }, additionalProperties = false }',
      '{ a = 1, b = 2 }',
      '/: property "b" is not allowed',
    ],
    ['enum', '{ enum = { "create", "update" } }', '"delete"', '/: not one of the values in enum'],
    [
      'anyOf',
      '{ anyOf = { { type = "string" }, { type = "boolean" } } }',
      '1',
      '/: matches none of anyOf',
    ],
    [
      'oneOf matching two',
      '{ oneOf = { { type = "integer" }, { minimum = 0 } } }',
      '1',
      '/: matches 2 of oneOf, expected exactly 1',
    ],
    ['not', '{ ["not"] = { type = "integer" } }', '1', '/: matches the schema in not'],
    [
      'items deep inside',
      '{ properties = { list = { items = { type = "string" } } } }',
      '{ list = { "a", 2 } }',
      '/list/1: expected string, got integer',
    ],
    ['maxItems', '{ maxItems = 1 }', '{ 1, 2 }', '/: expected at most 1 items, got 2'],
    [
      'an empty table typed as an array, checked as one',
      '{ type = "array", minItems = 1, minProperties = 1 }',
      '{}',
      '/: expected at least 1 items, got 0',
    ],
    [
      'enum of a string against a table',
      '{ enum = { {}, 1 } }',
      '"x"',
      '/: not one of the values in enum',
    ],
    [
      'uniqueItems',
      '{ uniqueItems = true }',
      '{ { a = 1 }, { a = 1.0 } }',
      '/: items 0 and 1 are equal',
    ],
    ['false, the schema that allows nothing', 'false', '1', '/: no value is allowed here'],
    ['contains', '{ contains = { type = "string" } }', '{ 1, 2 }', '/: no item matches contains'],
    [
      'maxContains',
      '{ contains = { type = "string" }, maxContains = 1 }',
      '{ "a", "b" }',
      '/: expected at most 1 matching items, got 2',
    ],
    ['exclusiveMaximum', '{ exclusiveMaximum = 10 }', '10', '/: 10 is not less than 10'],
  ])('refuses %s with an INVALID error naming the place', async (_name, schema, value, problem) => {
    expect(await run(`return validated(json.validate(${schema}, ${value}))`)).toBe(
      `INVALID: json.validate: the value does not match the schema: ${problem}`,
    );
  });

  it('lists several problems, at most ten', async () => {
    expect(await run('return validated(json.validate(PERSON, { name = 1, age = "x" }))')).toMatch(
      /does not match the schema: \/(name|age): .*; \/(name|age): /,
    );
    expect(
      await run(`
        local _, err = json.validate({ items = { type = "string" } }, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 })
        local _, count = err.message:gsub('expected string', '')
        return count
      `),
    ).toBe(10);
  });

  it.each([
    ['nil data', 'PERSON, nil', 'json.validate: data is required'],
    [
      'a schema that is not JSON',
      '"{", 1',
      'json.validate: the schema is not JSON: json: unexpected end of input at position 2 (expected a string key)',
    ],
    [
      'a schema of the wrong type',
      '42, 1',
      'json.validate: the schema must be a table, a boolean or JSON text, got number',
    ],
    [
      'an unknown type',
      '{ type = "strnig" }, 1',
      'json.validate: invalid schema at #: unknown type strnig',
    ],
    [
      'a bad keyword value',
      '{ properties = { a = { minLength = -1 } } }, { a = "x" }',
      'json.validate: invalid schema at #/properties/a: minLength must be a non-negative integer',
    ],
    [
      'pattern',
      '{ pattern = "^a" }, "a"',
      'json.validate: invalid schema at #: the keyword pattern is not supported',
    ],
    [
      'a $ref to nothing',
      '{ ["$ref"] = "#/$defs/missing" }, 1',
      'json.validate: invalid schema at #: $ref #/$defs/missing points at nothing',
    ],
    [
      'a remote $ref',
      '{ ["$ref"] = "http://example.com/s.json" }, 1',
      'json.validate: invalid schema at #: $ref must be a local reference starting with # (got http://example.com/s.json)',
    ],
    ['a $ref loop', '{ ["$ref"] = "#" }, 1', 'json.validate: nesting deeper than 1000 levels'],
    [
      'data that is not JSON',
      '{}, { f = print }',
      'json.validate: the value is not JSON: cannot encode a function as JSON',
    ],
    [
      'a sparse array',
      '{}, { [2] = 1 }',
      'json.validate: the value is not JSON: cannot encode a sparse array (integer keys with gaps, up to 2 for 1 values); use json.null for a missing value',
    ],
  ])('returns false and an INVALID error for %s', async (_name, args, message) => {
    expect(await run(`return validated(json.validate(${args}))`)).toBe(`INVALID: ${message}`);
  });

  it('validate_string validates JSON text', async () => {
    expect(
      await run('return validated(json.validate_string(PERSON, \'{"name":"Jane","age":25}\'))'),
    ).toBe('ok');
    expect(await run('return validated(json.validate_string(PERSON, \'{"age":25}\'))')).toBe(
      'INVALID: json.validate_string: the value does not match the schema: /: missing required property "name"',
    );
    expect(await run('return validated(json.validate_string({ type = "null" }, "null"))')).toBe(
      'ok',
    );
    expect(await run('return validated(json.validate_string({ type = "object" }, "{}"))')).toBe(
      'ok',
    );
    expect(await run('return validated(json.validate_string({ type = "array" }, "{}"))')).toBe(
      'INVALID: json.validate_string: the value does not match the schema: /: expected array, got object',
    );
    expect(await run('return validated(json.validate_string(PERSON, "{"))')).toBe(
      'INVALID: json.validate_string: the text is not JSON: json: unexpected end of input at position 2 (expected a string key)',
    );
    expect(await run('return validated(json.validate_string(PERSON, 5))')).toBe(
      'INVALID: json.validate_string: expected JSON text, got number',
    );
  });
});
