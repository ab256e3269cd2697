import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlainEngine, plainEngine } from '../testing/plain-engine.js';

/**
 * Tests for lua/duration.lua, run in a plain wasmoon engine. Durations reach 2^63 ns, beyond
 * what a JS number holds exactly, so Lua returns them as decimal strings ("%d") and the expected
 * values are written as bigints. The parse and format tables are Go's own (time_test.go), plus
 * the `d` unit.
 */

let engine: PlainEngine;
const run = (code: string) => engine.run(code);
const withText = (text: string, code: string) => engine.withText(text, code);

const NS = 1n;
const US = 1_000n * NS;
const MS = 1_000n * US;
const S = 1_000n * MS;
const MIN = 60n * S;
const H = 60n * MIN;
const D = 24n * H;
const MAX = (1n << 63n) - 1n;
const MIN_INT = -(1n << 63n);

beforeAll(async () => {
  engine = await plainEngine(
    'duration',
    `
    duration = assert(load(SOURCE, '=duration.lua'))({
      new_error = function(kind, msg) return { kind = kind, message = msg } end,
    })

    -- "%d" of a successful result, or "kind: message" of an error
    function show(v, err)
      if err ~= nil then
        if v ~= nil then return 'value and error both set' end
        return err.kind .. ': ' .. err.message
      end
      if math.type(v) ~= 'integer' then return 'not an integer: ' .. tostring(v) end
      return string.format('%d', v)
    end

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

describe('duration.parse', () => {
  it.each<[string, bigint]>([
    // Go: simple
    ['0', 0n],
    ['5s', 5n * S],
    ['30s', 30n * S],
    ['1478s', 1478n * S],
    // Go: sign
    ['-5s', -5n * S],
    ['+5s', 5n * S],
    ['-0', 0n],
    ['+0', 0n],
    // Go: decimal
    ['5.0s', 5n * S],
    ['5.6s', 5n * S + 600n * MS],
    ['5.s', 5n * S],
    ['.5s', 500n * MS],
    ['1.0s', 1n * S],
    ['1.00s', 1n * S],
    ['1.004s', 1n * S + 4n * MS],
    ['1.0040s', 1n * S + 4n * MS],
    ['100.00100s', 100n * S + 1n * MS],
    // Go: different units
    ['10ns', 10n * NS],
    ['11us', 11n * US],
    ['12µs', 12n * US], // U+00B5 micro sign
    ['12μs', 12n * US], // U+03BC Greek small letter mu
    ['13ms', 13n * MS],
    ['14s', 14n * S],
    ['15m', 15n * MIN],
    ['16h', 16n * H],
    // Go: composite durations
    ['3h30m', 3n * H + 30n * MIN],
    ['10.5s4m', 4n * MIN + 10n * S + 500n * MS],
    ['-2m3.4s', -(2n * MIN + 3n * S + 400n * MS)],
    ['1h2m3s4ms5us6ns', 1n * H + 2n * MIN + 3n * S + 4n * MS + 5n * US + 6n * NS],
    ['39h9m14.425s', 39n * H + 9n * MIN + 14n * S + 425n * MS],
    // Go: large value
    ['52763797000ns', 52763797000n * NS],
    // Go: more than 9 digits after the decimal point (golang.org/issue/6617)
    ['0.3333333333333333333h', 20n * MIN],
    // Go: 1<<53+1 cannot be stored precisely in a float64
    ['9007199254740993ns', (1n << 53n) + 1n],
    // Go: the largest and smallest durations
    ['9223372036854775807ns', MAX],
    ['9223372036854775.807us', MAX],
    ['9223372036s854ms775us807ns', MAX],
    ['-9223372036854775808ns', MIN_INT],
    ['-9223372036854775.808us', MIN_INT],
    ['-9223372036s854ms775us808ns', MIN_INT],
    ['-2562047h47m16.854775808s', MIN_INT], // golang.org/issue/48629
    ['2562047h47m16.854775807s', MAX],
    // Go: huge string (golang.org/issue/15011)
    ['0.100000000000000000000h', 6n * MIN],
    // Go: the first overflow check in leadingFraction
    ['0.830103483285477580700h', 49n * MIN + 48n * S + 372539827n * NS],
    // the brief's examples
    ['300ms', 300n * MS],
    ['1.5h', 90n * MIN],
    ['2h45m', 2n * H + 45n * MIN],
    ['-1.5h', -90n * MIN],
    ['1us', 1n * US],
    ['1µs', 1n * US],
    ['1μs', 1n * US],
    ['100ns', 100n * NS],
    ['1h15m30.918273645s', 4530918273645n],
    // days
    ['1d', D],
    ['2d12h', 2n * D + 12n * H],
    ['1.5d', 36n * H],
    ['-0.5d', -12n * H],
    ['106751d23h47m16.854775807s', MAX],
    // units repeated or out of order are added up, as in Go
    ['1s1s', 2n * S],
    ['1m1h', H + MIN],
  ])('reads %s', async (text, ns) => {
    expect(await withText(text, 'return show(duration.parse(TEXT))')).toBe(ns.toString());
  });

  it.each([
    ['', 'time: invalid duration "" (expected e.g. "250ms", "5s", "1h30m")'],
    ['-', 'time: invalid duration "-" (expected e.g. "250ms", "5s", "1h30m")'],
    ['5', 'time: missing unit in duration "5" (add a unit, e.g. "5s")'],
    ['-5', 'time: missing unit in duration "-5" (add a unit, e.g. "-5s")'],
    ['1.5', 'time: missing unit in duration "1.5" (add a unit, e.g. "1.5s")'],
    ['00', 'time: missing unit in duration "00" (add a unit, e.g. "00s")'],
    ['1h30', 'time: missing unit in duration "1h30" (add a unit, e.g. "1h30s")'],
    ['1.2.3s', 'time: missing unit in duration "1.2.3s"'],
    ['1x', 'time: unknown unit "x" in duration "1x" (units: ns, us, µs, ms, s, m, h, d)'],
    ['1S', 'time: unknown unit "S" in duration "1S" (units: ns, us, µs, ms, s, m, h, d)'],
    ['1 s', 'time: unknown unit " s" in duration "1 s" (units: ns, us, µs, ms, s, m, h, d)'],
    ['1h 30m', 'time: unknown unit "h " in duration "1h 30m" (units: ns, us, µs, ms, s, m, h, d)'],
    ['5sec', 'time: unknown unit "sec" in duration "5sec" (units: ns, us, µs, ms, s, m, h, d)'],
    ['--1s', 'time: invalid duration "--1s"'],
    ['+-1s', 'time: invalid duration "+-1s"'],
    ['s', 'time: invalid duration "s"'],
    ['.', 'time: invalid duration "."'],
    ['-.', 'time: invalid duration "-."'],
    ['.s', 'time: invalid duration ".s"'],
    ['+.s', 'time: invalid duration "+.s"'],
    [' 1s', 'time: invalid duration " 1s"'],
    ['1s ', 'time: unknown unit "s " in duration "1s " (units: ns, us, µs, ms, s, m, h, d)'],
    ['\uFFFD', 'time: invalid duration "\uFFFD"'],
    ['1.5e3s', 'time: unknown unit "e" in duration "1.5e3s" (units: ns, us, µs, ms, s, m, h, d)'],
  ])('rejects %j', async (text, message) => {
    expect(await withText(text, 'return show(duration.parse(TEXT))')).toBe(`INVALID: ${message}`);
  });

  it.each([
    '9223372036854775810ns',
    '9223372036854775808ns',
    '-9223372036854775809ns',
    '9223372036854776us',
    '3000000h',
    '9223372036854775.808us',
    '9223372036854ms775us808ns',
    '2562047h47m16.854775808s',
    '106752d',
    '99999999999999999999999ns',
  ])('rejects %s as out of range', async (text) => {
    expect(await withText(text, 'return show(duration.parse(TEXT))')).toBe(
      `INVALID: time: duration "${text}" out of range (at most about 292 years, 2562047h47m16.854775807s)`,
    );
  });

  it('rejects invalid UTF-8 without raising', async () => {
    expect(
      await run(`
        for _, text in ipairs({ '\\x85\\x85', '\\xffff', 'hello \\xffff world', '1\\xb5s' }) do
          local v, err = duration.parse(text)
          if v ~= nil or err.kind ~= 'INVALID' then return text end
        end
        return 'ok'
      `),
    ).toBe('ok');
  });

  it('raises when given something other than a string', async () => {
    expect(await run('return raised(duration.parse, 5)')).toMatch(
      /duration\.parse: expected a string, got number$/,
    );
  });
});

describe('duration.format', () => {
  it.each<[bigint, string]>([
    // Go's durationTests
    [0n, '0s'],
    [1n * NS, '1ns'],
    [1100n * NS, '1.1µs'],
    [2200n * US, '2.2ms'],
    [3300n * MS, '3.3s'],
    [4n * MIN + 5n * S, '4m5s'],
    [4n * MIN + 5001n * MS, '4m5.001s'],
    [5n * H + 6n * MIN + 7001n * MS, '5h6m7.001s'],
    [8n * MIN + 1n * NS, '8m0.000000001s'],
    [MAX, '2562047h47m16.854775807s'],
    [MIN_INT, '-2562047h47m16.854775808s'], // a float literal in Lua, converted exactly
    // the brief's examples and a few more
    [4530918273645n, '1h15m30.918273645s'],
    [90n * MIN, '1h30m0s'],
    [1500n * MS, '1.5s'],
    [250n * MS, '250ms'],
    [1500n, '1.5µs'],
    [1000n, '1µs'],
    [999n, '999ns'],
    [999_999n, '999.999µs'],
    [999_999_999n, '999.999999ms'],
    [1n * S, '1s'],
    [60n * S, '1m0s'],
    [H, '1h0m0s'],
    [D, '24h0m0s'],
    [-1n, '-1ns'],
    [-1500n, '-1.5µs'],
    [-1500n * MS, '-1.5s'],
    [-90n * MIN, '-1h30m0s'],
    [MIN_INT + 1n, '-2562047h47m16.854775807s'],
  ])('writes %d ns as %s', async (ns, text) => {
    expect(await run(`return duration.format(${ns})`)).toBe(text);
  });

  it('accepts floats with an integral value', async () => {
    expect(await run('return duration.format(1500.0)')).toBe('1.5µs');
  });

  it('raises on anything but an integer', async () => {
    expect(await run('return raised(duration.format, 1.5)')).toMatch(
      /duration\.format: expected an integer number of nanoseconds, got 1\.5$/,
    );
    expect(await run('return raised(duration.format, "1s")')).toMatch(
      /duration\.format: expected an integer number of nanoseconds, got string$/,
    );
  });

  it('is read back by parse as the same value, for random and edge values', async () => {
    expect(
      await run(`
        math.randomseed(42)
        local values = { 0, 1, -1, 999, 1000, 1001, 999999, 1000000, 999999999, 1000000000,
          59999999999, 60000000000, 3599999999999, 3600000000000, math.maxinteger,
          math.mininteger, math.mininteger + 1, math.maxinteger - 1 }
        for i = 1, 10000 do
          local v = math.random(0)
          values[#values + 1] = v >> math.random(0, 63) -- all magnitudes
          values[#values + 1] = v
        end
        for _, v in ipairs(values) do
          local text = duration.format(v)
          local back, err = duration.parse(text)
          if back ~= v then
            return string.format('%d -> %s -> %s', v, text, tostring(back or err.message))
          end
        end
        return 'ok'
      `),
    ).toBe('ok');
  });
});

describe('duration.normalize', () => {
  it.each([
    ['an integer as nanoseconds', '1500', '1500'],
    ['a negative integer', '-7', '-7'],
    ['math.maxinteger', 'math.maxinteger', MAX.toString()],
    ['a float, truncated', '1.9', '1'],
    ['a negative float, truncated toward zero', '-1.9', '-1'],
    ['an integral float', '1e9', '1000000000'],
    ['-2^63 as a float', '-2^63', MIN_INT.toString()],
    ['a string', '"1.5s"', '1500000000'],
    ['a string with days', '"-1d"', (-D).toString()],
    ['inf', 'math.huge', 'INVALID: time: invalid duration inf (must be a finite number)'],
    [
      'a float beyond int64',
      '2^63',
      'INVALID: time: duration 9.2233720368547758e+18 ns out of range (at most about 292 years)',
    ],
    [
      'a float below int64',
      '-1e19',
      'INVALID: time: duration -1e+19 ns out of range (at most about 292 years)',
    ],
    [
      'a bare number string',
      '"5"',
      'INVALID: time: missing unit in duration "5" (add a unit, e.g. "5s")',
    ],
  ])('takes %s', async (_name, expression, expected) => {
    expect(await run(`return show(duration.normalize(${expression}))`)).toBe(expected);
  });

  it('rejects NaN', async () => {
    // the sign and spelling of NaN depend on the C library
    expect(await run('return show(duration.normalize(0/0))')).toMatch(
      /^INVALID: time: invalid duration -?nan \(must be a finite number\)$/,
    );
  });

  it('raises on other types', async () => {
    for (const expression of ['nil', 'true', '{}', 'print']) {
      expect(await run(`return raised(duration.normalize, ${expression})`)).toMatch(
        /duration: expected a duration \(integer nanoseconds, number or string like "5s"\), got \w+$/,
      );
    }
  });
});

describe('constants', () => {
  it('are integers of nanoseconds', async () => {
    expect(
      await run(`
        local out = {}
        for _, name in ipairs({ 'NANOSECOND', 'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE',
            'HOUR', 'DAY' }) do
          out[#out + 1] = name .. '=' .. math.type(duration[name]) .. ':' .. string.format('%d', duration[name])
        end
        return table.concat(out, ' ')
      `),
    ).toBe(
      [
        'NANOSECOND=integer:1',
        'MICROSECOND=integer:1000',
        'MILLISECOND=integer:1000000',
        'SECOND=integer:1000000000',
        'MINUTE=integer:60000000000',
        'HOUR=integer:3600000000000',
        'DAY=integer:86400000000000',
      ].join(' '),
    );
  });
});
