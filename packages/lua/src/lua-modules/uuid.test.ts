import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlainEngine, plainEngine } from '../testing/plain-engine.js';

/**
 * Tests for lua/uuid.lua, run in a plain wasmoon engine. Each test builds its own module
 * instance (`make(random_bytes, now_ms)` in Lua), so v7 state never leaks between tests.
 * Real randomness comes from node:crypto as hex (binary strings would not survive wasmoon's
 * UTF-8 string conversion).
 */

let engine: PlainEngine;
const run = (code: string) => engine.run(code);

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Runs a Lua chunk that returns UUIDs joined by newlines. */
async function ids(code: string): Promise<string[]> {
  const text = await run(code);
  expect(typeof text).toBe('string');
  return (text as string).split('\n');
}

/** The 48-bit timestamp of a v7 UUID. */
function timestamp(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The 12-bit rand_a field (the counter) of a v7 UUID. */
function counter(id: string): number {
  return Number.parseInt(id.slice(15, 18), 16);
}

function expectStrictlyIncreasing(list: string[]): void {
  for (let i = 1; i < list.length; i++) {
    const [previous, current] = [list[i - 1] ?? '', list[i] ?? ''];
    if (!(previous < current)) {
      expect.fail(`UUID ${i} (${current}) is not greater than UUID ${i - 1} (${previous})`);
    }
  }
}

beforeAll(async () => {
  engine = await plainEngine(
    'uuid',
    `
    function make(random_bytes, now_ms)
      return assert(load(SOURCE, '=uuid.lua'))({
        random_bytes = random_bytes,
        now_ms = now_ms,
        new_error = function(kind, message) return { kind = kind, message = message } end,
      })
    end

    -- "value" or "nil KIND: message" for a function returning value | nil, err
    function outcome(value, err)
      if value ~= nil then return value end
      return 'nil ' .. err.kind .. ': ' .. err.message
    end

    function real_random(n)
      return (random_hex(n):gsub('..', function(h) return string.char(tonumber(h, 16)) end))
    end

    function constant_bytes(value)
      return function(n) return string.rep(string.char(value), n) end
    end

    function frozen_clock(ms)
      return function() return ms end
    end

    -- a clock that advances by one millisecond every 'every' readings
    function stepping_clock(start, every)
      local readings = 0
      return function()
        local ms = start + readings // every
        readings = readings + 1
        return ms
      end
    end

    function generate(uuid, version, count)
      local list = {}
      for i = 1, count do list[i] = uuid[version]() end
      return table.concat(list, '\\n')
    end

    function raised(fn, ...)
      local ok, err = pcall(fn, ...)
      if ok then return 'no error' end
      return tostring(err)
    end
  `,
    {
      random_hex: (n: number) => randomBytes(n).toString('hex'),
      js_now: () => Date.now(),
    },
  );
});

afterAll(() => {
  engine.close();
});

describe('uuid.v4', () => {
  it('sets the version and variant bits and keeps every other bit random', async () => {
    expect(await run('return make(constant_bytes(0), js_now).v4()')).toBe(
      '00000000-0000-4000-8000-000000000000',
    );
    expect(await run('return make(constant_bytes(255), js_now).v4()')).toBe(
      'ffffffff-ffff-4fff-bfff-ffffffffffff',
    );
  });

  it('uses the bytes from deps.random_bytes in order', async () => {
    const id = await run(`
      local next_byte = 0
      local function counting(n)
        local t = {}
        for i = 1, n do t[i] = string.char(next_byte % 256) next_byte = next_byte + 1 end
        return table.concat(t)
      end
      return make(counting, js_now).v4()
    `);
    expect(id).toBe('00010203-0405-4607-8809-0a0b0c0d0e0f');
  });

  it('generates 10000 distinct, well-formed UUIDs from real randomness', async () => {
    const list = await ids('return generate(make(real_random, js_now), "v4", 10000)');
    expect(list).toHaveLength(10_000);
    for (const id of list) expect(id).toMatch(V4);
    expect(new Set(list).size).toBe(10_000);
  });

  it('raises when deps.random_bytes returns the wrong length', async () => {
    expect(await run('return raised(make(function() return "abc" end, js_now).v4)')).toBe(
      'uuid: deps.random_bytes(16) returned 3 bytes',
    );
    expect(await run('return raised(make(function() return nil end, js_now).v4)')).toBe(
      'uuid: deps.random_bytes(16) returned a nil',
    );
  });
});

describe('uuid.v7', () => {
  it('lays out timestamp, version, counter, variant and random bits', async () => {
    expect(
      await run(`
        local uuid = make(constant_bytes(0), frozen_clock(0x0123456789AB))
        return uuid.v7() .. ' ' .. uuid.v7()
      `),
    ).toBe('01234567-89ab-7000-8000-000000000000 01234567-89ab-7001-8000-000000000000');
    // all-ones randomness: the counter seed keeps its top bit clear (0x7ff), rand_b is all ones
    expect(
      await run(`
        local uuid = make(constant_bytes(255), frozen_clock(0xFFFFFFFFFFFF))
        return uuid.v7() .. ' ' .. uuid.v7()
      `),
    ).toBe('ffffffff-ffff-77ff-bfff-ffffffffffff ffffffff-ffff-7800-bfff-ffffffffffff');
  });

  it('puts the clock reading into the timestamp bits', async () => {
    const before = Date.now();
    const list = await ids('return generate(make(real_random, js_now), "v7", 100)');
    const after = Date.now();
    for (const id of list) {
      expect(id).toMatch(V7);
      expect(timestamp(id)).toBeGreaterThanOrEqual(before);
      expect(timestamp(id)).toBeLessThanOrEqual(after);
    }
    const exact = await ids(`
      local uuid = make(real_random, frozen_clock(1700000000123))
      return uuid.v7() .. '\\n' .. make(real_random, frozen_clock(281474976710655)).v7()
        .. '\\n' .. make(real_random, frozen_clock(0)).v7()
    `);
    expect(exact.map(timestamp)).toEqual([1700000000123, 281474976710655, 0]);
  });

  it('is strictly increasing for 10000 UUIDs with a frozen clock', async () => {
    const clock = 1_700_000_000_000;
    const list = await ids(
      `return generate(make(real_random, frozen_clock(${clock})), "v7", 10000)`,
    );
    expect(list).toHaveLength(10_000);
    for (const id of list) expect(id).toMatch(V7);
    expectStrictlyIncreasing(list);
    // the counter counts up by one within a millisecond; when it would pass 0xfff the timestamp
    // moves one millisecond ahead of the clock and the counter is re-seeded below 0x800
    const first = list[0] ?? '';
    expect(timestamp(first)).toBe(clock);
    expect(counter(first)).toBeLessThan(0x800);
    for (let i = 1; i < list.length; i++) {
      const [previous, current] = [list[i - 1] ?? '', list[i] ?? ''];
      if (timestamp(current) === timestamp(previous)) {
        expect(counter(current)).toBe(counter(previous) + 1);
      } else {
        expect(timestamp(current)).toBe(timestamp(previous) + 1);
        expect(counter(previous)).toBe(0xfff);
        expect(counter(current)).toBeLessThan(0x800);
      }
    }
    const last = timestamp(list.at(-1) ?? '');
    expect(last - clock).toBeLessThanOrEqual(Math.ceil(10_000 / 2048));
  });

  it('is strictly increasing with an advancing clock, and the timestamps equal the clock', async () => {
    for (const every of [1, 3, 100]) {
      const start = 1_700_000_000_000;
      const list = await ids(
        `return generate(make(real_random, stepping_clock(${start}, ${every})), "v7", 10000)`,
      );
      expect(list).toHaveLength(10_000);
      expectStrictlyIncreasing(list);
      list.forEach((id, i) => {
        expect(id).toMatch(V7);
        if (timestamp(id) !== start + Math.floor(i / every)) {
          expect.fail(`UUID ${i} (${id}) has timestamp ${timestamp(id)}`);
        }
      });
    }
  });

  it('is strictly increasing with the real clock', async () => {
    const list = await ids('return generate(make(real_random, js_now), "v7", 10000)');
    expectStrictlyIncreasing(list);
    expect(new Set(list).size).toBe(10_000);
  });

  it('stays increasing when the clock goes backwards', async () => {
    const list = await ids(`
      local readings = { 5000, 5000, 4000, 4999, 5000, 5001, 3000 }
      local i = 0
      local uuid = make(real_random, function() i = i + 1 return readings[i] end)
      return generate(uuid, 'v7', #readings)
    `);
    expectStrictlyIncreasing(list);
    expect(list.map(timestamp)).toEqual([5000, 5000, 5000, 5000, 5000, 5001, 5001]);
  });

  it('keeps separate state per module instance', async () => {
    const list = await ids(`
      local a = make(constant_bytes(0), frozen_clock(1000))
      local b = make(constant_bytes(0), frozen_clock(1000))
      return table.concat({ a.v7(), a.v7(), b.v7() }, '\\n')
    `);
    expect(list.map(counter)).toEqual([0, 1, 0]);
  });

  it('raises on a bad clock reading', async () => {
    for (const reading of ['-1', '2^48', '1.5', '"now"', 'nil']) {
      expect(
        await run(`return raised(make(real_random, function() return ${reading} end).v7)`),
      ).toMatch(
        /^uuid: deps\.now_ms\(\) returned .*, expected integer milliseconds in 0 \.\. 2\^48-1$/,
      );
    }
    expect(
      await run('return make(real_random, function() return 1000.0 end).v7():sub(1, 13)'),
    ).toBe('00000000-03e8');
  });
});

describe('uuid.is_valid', () => {
  it('accepts canonical UUIDs of any version, in either case', async () => {
    const accepted = [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6',
      '017f22e2-79b0-7cc3-98c4-dc0c0c07398f',
    ];
    for (const id of accepted) {
      engine.lua.global.set('ID', id);
      expect(await run('return make(real_random, js_now).is_valid(ID)')).toBe(true);
    }
    expect(
      await run(`
        local uuid = make(real_random, js_now)
        for i = 1, 100 do
          if not uuid.is_valid(uuid.v4()) or not uuid.is_valid(uuid.v7()) then return false end
        end
        return true
      `),
    ).toBe(true);
  });

  it('rejects anything else', async () => {
    const rejected = [
      '',
      '00000000-0000-0000-0000-00000000000',
      '00000000-0000-0000-0000-0000000000000',
      '00000000000000000000000000000000',
      '00000000-0000-0000-0000_000000000000',
      '0000000-00000-0000-0000-000000000000',
      'g0000000-0000-0000-0000-000000000000',
      '{00000000-0000-0000-0000-000000000000}',
      'urn:uuid:00000000-0000-0000-0000-000000000000',
      ' 00000000-0000-0000-0000-000000000000',
      '00000000-0000-0000-0000-000000000000\n',
    ];
    for (const id of rejected) {
      engine.lua.global.set('ID', id);
      expect(await run('return make(real_random, js_now).is_valid(ID)')).toBe(false);
    }
    expect(
      await run(`
        local uuid = make(real_random, js_now)
        return uuid.is_valid(nil) or uuid.is_valid(42) or uuid.is_valid({}) or uuid.is_valid(true)
      `),
    ).toBe(false);
  });
});

describe('uuid.v3 and uuid.v5', () => {
  const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
  const URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
  const OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8';

  // Expected values: RFC 9562 Appendix A.2 and A.4 (www.example.com) and Python's uuid module.
  it.each([
    ['v3', DNS, '"www.example.com"', '5df41881-3aed-3515-88a7-2f4a814cf09e'],
    ['v5', DNS, '"www.example.com"', '2ed6657d-e927-568b-95e1-2665a8aea6a2'],
    ['v3', DNS, '"python.org"', '6fa459ea-ee8a-3ca4-894e-db77e160355e'],
    ['v5', DNS, '"python.org"', '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    ['v3', URL, '""', '14cdb9b4-de01-3faa-aff5-65bc2f771745'],
    ['v5', OID, 'string.rep("x", 100)', 'a1d416cb-b78e-564c-8461-f8a5e9e6ef5a'],
    ['v5', DNS.toUpperCase(), '"www.example.com"', '2ed6657d-e927-568b-95e1-2665a8aea6a2'],
  ])('%s(%s, %s) is the standard test vector', async (version, namespace, name, expected) => {
    expect(await run(`return make(real_random, js_now).${version}("${namespace}", ${name})`)).toBe(
      expected,
    );
  });

  it('returns nil and an INVALID error for a bad namespace or name', async () => {
    expect(await run('return outcome(make(real_random, js_now).v3("invalid", "test"))')).toBe(
      'nil INVALID: uuid.v3: namespace must be a UUID string, got "invalid"',
    );
    expect(await run('return outcome(make(real_random, js_now).v5(nil, "test"))')).toBe(
      'nil INVALID: uuid.v5: namespace must be a UUID string, got nil',
    );
    expect(await run(`return outcome(make(real_random, js_now).v5("${DNS}", 42))`)).toBe(
      'nil INVALID: uuid.v5: name must be a string, got number',
    );
  });
});

describe('uuid.v1', () => {
  /** The first three groups of a v1 UUID for `ms` milliseconds and `sub` 100 ns ticks. */
  function timeFields(ms: bigint, sub: bigint): string {
    const hex = (ms * 10_000n + sub + 0x01b21dd213814000n).toString(16).padStart(16, '0');
    return `${hex.slice(8)}-${hex.slice(4, 8)}-1${hex.slice(1, 4)}`;
  }

  it('lays out the Gregorian time, version, clock sequence and node', async () => {
    expect(await run('return make(constant_bytes(0), frozen_clock(10^12 // 1)).v1()')).toBe(
      `${timeFields(10n ** 12n, 0n)}-8000-010000000000`,
    );
    // all-ones randomness: the sub-millisecond ticks are 0xffff % 10000
    expect(await run('return make(constant_bytes(255), frozen_clock(10^12 // 1)).v1()')).toBe(
      `${timeFields(10n ** 12n, 0xffffn % 10_000n)}-bfff-ffffffffffff`,
    );
  });

  it('depends only on the clock and the random bytes it is given', async () => {
    const same = await run(`
      local a = make(constant_bytes(7), frozen_clock(1700000000000))
      local b = make(constant_bytes(7), frozen_clock(1700000000000))
      local first = a.v1()
      a.v1()
      return first == b.v1() and first == a.v1()
    `);
    expect(same).toBe(true);
  });

  it('makes 20000 distinct UUIDs in one millisecond, each with that millisecond', async () => {
    const list = await ids(
      'return generate(make(real_random, frozen_clock(1700000000000)), "v1", 20000)',
    );
    expect(new Set(list).size).toBe(20_000);
    const first = timeFields(1_700_000_000_000n, 0n);
    const last = timeFields(1_700_000_000_000n, 9_999n);
    const low = (fields: string) => Number.parseInt(fields.slice(0, 8), 16);
    for (const id of list) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(id.slice(9, 18)).toBe(first.slice(9, 18));
      expect(low(id)).toBeGreaterThanOrEqual(low(first));
      expect(low(id)).toBeLessThanOrEqual(low(last));
    }
  });
});

describe('uuid inspection', () => {
  const V1 = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

  it('version, variant and parse read the fields of a UUID', async () => {
    expect(await run(`return make(real_random, js_now).version("${V1}")`)).toBe(1);
    expect(await run(`return make(real_random, js_now).variant("${V1}")`)).toBe('RFC4122');
    expect(
      await run(`
        local info = make(real_random, js_now).parse("${V1.toUpperCase()}")
        return table.concat({ info.version, info.variant, info.timestamp, info.node }, ' ')
      `),
    ).toBe('1 RFC4122 886630433 00c04fd430c8');
    expect(
      await run(`
        local uuid = make(real_random, frozen_clock(1700000000999))
        local v4, v7 = uuid.parse(uuid.v4()), uuid.parse(uuid.v7())
        return table.concat({ v4.version, tostring(v4.timestamp), v7.version, v7.timestamp,
          tostring(v7.node) }, ' ')
      `),
    ).toBe('4 nil 7 1700000000 nil');
    // RFC 9562 Appendix A.5: the v6 example was made at 2022-02-22T19:22:22Z
    expect(
      await run(
        'return make(real_random, js_now).parse("1ec9414c-232a-6b00-b3c8-9e6bdeced846").timestamp',
      ),
    ).toBe(1_645_557_742);
  });

  it.each([
    ['0', 'NCS'],
    ['7', 'NCS'],
    ['8', 'RFC4122'],
    ['b', 'RFC4122'],
    ['c', 'Microsoft'],
    ['d', 'Microsoft'],
    ['e', 'Future'],
    ['f', 'Future'],
  ])('variant of a UUID whose byte 9 starts with %s is %s', async (digit, variant) => {
    expect(
      await run(
        `return make(real_random, js_now).variant("00000000-0000-4000-${digit}000-000000000000")`,
      ),
    ).toBe(variant);
  });

  it('format gives the standard, simple and urn forms', async () => {
    const forms = await run(`
      local uuid = make(real_random, js_now)
      return table.concat({ uuid.format("${V1.toUpperCase()}"), uuid.format("${V1}", "standard"),
        uuid.format("${V1}", "simple"), uuid.format("${V1}", "urn") }, ' ')
    `);
    expect(forms).toBe(`${V1} ${V1} 6ba7b8109dad11d180b400c04fd430c8 urn:uuid:${V1}`);
  });

  it('returns nil and an INVALID error naming the function for anything but a UUID', async () => {
    for (const fn of ['version', 'variant', 'parse', 'format']) {
      expect(await run(`return outcome(make(real_random, js_now).${fn}("not-a-uuid"))`)).toBe(
        `nil INVALID: uuid.${fn}: expected a UUID string (8-4-4-4-12 hex digits), got "not-a-uuid"`,
      );
      expect(await run(`return outcome(make(real_random, js_now).${fn}(123))`)).toMatch(
        /got number$/,
      );
    }
    expect(await run(`return outcome(make(real_random, js_now).format("${V1}", "unknown"))`)).toBe(
      'nil INVALID: uuid.format: unknown form "unknown" (expected "standard", "simple" or "urn")',
    );
  });

  it.each([
    ['the standard form', V1],
    ['upper case', V1.toUpperCase()],
    ['32 hex digits', V1.replaceAll('-', '')],
    ['a urn', `URN:uuid:${V1}`],
    ['braces', `{${V1}}`],
  ])('reads %s in validate, parse, format and as a namespace', async (_name, id) => {
    expect(
      await run(`
        local uuid = make(real_random, js_now)
        local id = "${id}"
        return table.concat({ tostring(uuid.validate(id)), uuid.format(id), uuid.parse(id).node,
          uuid.v5(id, "www.example.com") }, " ")
      `),
    ).toBe(`true ${V1} 00c04fd430c8 2ed6657d-e927-568b-95e1-2665a8aea6a2`);
  });

  it.each([
    ['an empty string', ''],
    ['a truncated UUID', V1.slice(0, 23)],
    ['extra characters', `${V1}-extra`],
    ['31 hex digits', V1.replaceAll('-', '').slice(1)],
    ['an unclosed brace', `{${V1} `],
    ['another urn', `urn:uid:${V1}`],
    ['a urn of 32 digits', `urn:uuid:${V1.replaceAll('-', '')}`],
  ])('validate refuses %s', async (_name, id) => {
    expect(await run(`return make(real_random, js_now).validate("${id}")`)).toBe(false);
  });

  it('is_valid accepts only the standard form', async () => {
    expect(
      await run(`
        local uuid = make(real_random, js_now)
        return uuid.is_valid("${V1}") and not uuid.is_valid("{${V1}}")
          and not uuid.is_valid("${V1.replaceAll('-', '')}")
      `),
    ).toBe(true);
  });
});
