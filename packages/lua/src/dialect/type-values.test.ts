import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';

let h: VmHarness;

beforeEach(async () => {
  h = await VmHarness.create();
});

afterEach(() => {
  h.close();
});

/** A chunk: `declarations` at its top, then a `main` made of `body` lines. */
function chunk(declarations: string[], body: string[]): string {
  return [...declarations, 'local function main()', ...body, 'end', 'return { main = main }'].join(
    '\n',
  );
}

/** Runs `main` and returns its value; fails the test if the process failed. */
async function value(declarations: string[], body: string[]): Promise<unknown> {
  const exit = await h.run(chunk(declarations, body));
  if (!exit.ok) throw new Error(`process failed: ${exit.error?.message}`);
  return exit.value;
}

/** `{ok, err}` of T:is(v) for each Lua expression in `values`: ok is whether v came back. */
async function checks(declarations: string[], type: string, values: string[]) {
  const body = [
    '  local out = {}',
    ...values.map(
      (v, i) =>
        `  do local got, err = ${type}:is(${v}); out[${i + 1}] = {ok = got ~= nil, err = err or false} end`,
    ),
    '  return out',
  ];
  return value(declarations, body);
}

describe('a declared type is a value: T:is(v) gives v, or nil and what is wrong', () => {
  it('records: fields present and of their types, optional ones may be missing', async () => {
    expect(
      await checks(['type Point = {x: number, y: number, label?: string}'], 'Point', [
        '{x = 1, y = 2}',
        '{x = 1, y = 2, label = "a", extra = true}',
        '{x = 1}',
        '{x = 1, y = "2"}',
        '{x = 1, y = 2, label = 3}',
        '"point"',
      ]),
    ).toEqual([
      { ok: true, err: false },
      { ok: true, err: false },
      { ok: false, err: 'y: missing (expected number)' },
      { ok: false, err: 'y: expected number, got "2"' },
      { ok: false, err: 'label: expected string, got 3' },
      { ok: false, err: 'expected Point, got "point"' },
    ]);
  });

  it('primitives, integer, literals, unions, optionals and any', async () => {
    const declarations = [
      'type Id = integer | string',
      'type Mode = "fast" | "safe"',
      'type Flag = true',
      'type Maybe = number?',
      'type Anything = any',
    ];
    const run = (type: string, values: string[]) => checks(declarations, type, values);
    expect(await run('Id', ['7', '7.0', '"x"', '7.5', 'nil'])).toEqual([
      { ok: true, err: false },
      { ok: true, err: false },
      { ok: true, err: false },
      { ok: false, err: 'expected Id, got 7.5' },
      { ok: false, err: 'expected Id, got nil' },
    ]);
    expect(await run('Mode', ['"fast"', '"slow"'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'expected Mode, got "slow"' },
    ]);
    expect(await run('Flag', ['true', 'false'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'expected Flag, got false' },
    ]);
    expect(await run('Maybe', ['1.5', '"1"'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'expected number, got "1"' },
    ]);
    expect(await run('Anything', ['{}', '"x"'])).toEqual([
      { ok: true, err: false },
      { ok: true, err: false },
    ]);
  });

  it('arrays, maps and nested tables name the path to what is wrong', async () => {
    const declarations = [
      'type Tags = {string}',
      'type Counts = {[string]: integer}',
      'type Doc = {meta: {active: boolean}, tags: Tags, counts?: Counts}',
    ];
    const run = (type: string, values: string[]) => checks(declarations, type, values);
    expect(await run('Tags', ['{"a", "b"}', '{}', '{"a", 2}', '{"a", k = "b"}'])).toEqual([
      { ok: true, err: false },
      { ok: true, err: false },
      { ok: false, err: '[2]: expected string, got 2' },
      { ok: false, err: 'k: not an index of Tags (an array has keys 1..n)' },
    ]);
    expect(await run('Counts', ['{a = 1}', '{a = "1"}', '{[1] = 1}'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'a: expected integer, got "1"' },
      { ok: false, err: '[1]: expected a key of type string, got 1' },
    ]);
    expect(
      await run('Doc', [
        '{meta = {active = true}, tags = {"x"}, counts = {n = 2}}',
        '{meta = {active = "yes"}, tags = {}}',
        '{meta = {active = true}, tags = {"x", 1}}',
        '{meta = {active = true}, tags = {}, counts = {["a b"] = 0.5}}',
      ]),
    ).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'meta.active: expected boolean, got "yes"' },
      { ok: false, err: 'tags[2]: expected string, got 1' },
      { ok: false, err: 'counts["a b"]: expected integer, got 0.5' },
    ]);
  });

  it('validators: @min, @max, @min_len, @max_len (characters), @pattern (RE2)', async () => {
    const declarations = [
      'type Score = number @min(0) @max(100)',
      'type Name = string @min_len(2) @max_len(4)',
      'type Email = string @pattern("^.+@.+\\\\..+$")',
      'type Few = {integer} @max_len(2)',
    ];
    const run = (type: string, values: string[]) => checks(declarations, type, values);
    expect(await run('Score', ['0', '100', '-1', '100.5', '"50"'])).toEqual([
      { ok: true, err: false },
      { ok: true, err: false },
      { ok: false, err: '-1 is less than the minimum 0' },
      { ok: false, err: '100.5 is greater than the maximum 100' },
      { ok: false, err: 'expected number, got "50"' },
    ]);
    expect(await run('Name', ['"Zoë"', '"a"', '"abcde"'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'length 1 is less than the minimum length 2' },
      { ok: false, err: 'length 5 is greater than the maximum length 4' },
    ]);
    expect(await run('Email', ['"a@b.co"', '"a@bco"'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: '"a@bco" does not match the pattern ^.+@.+\\..+$' },
    ]);
    expect(await run('Few', ['{1, 2}', '{1, 2, 3}'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'length 3 is greater than the maximum length 2' },
    ]);
  });

  it('intersections, aliases, function types, generics and a type that contains itself', async () => {
    const declarations = [
      'type Named = {name: string}',
      'type Aged = {age: integer}',
      'type Person = Named & Aged',
      'type Who = Person',
      'type Handler = (string) -> boolean',
      'type Box<T> = {value: T}',
      'type Boxes = {Box<integer>}',
      'type Node = {value: number, next?: Node}',
    ];
    const run = (type: string, values: string[]) => checks(declarations, type, values);
    expect(await run('Who', ['{name = "a", age = 1}', '{name = "a"}'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'age: missing (expected integer)' },
    ]);
    expect(await run('Handler', ['print', '{}'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'expected function, got table' },
    ]);
    expect(await run('Boxes', ['{{value = 1}}', '{{value = "1"}}'])).toEqual([
      { ok: true, err: false },
      { ok: false, err: '[1].value: expected integer, got "1"' },
    ]);
    expect(
      await run('Node', ['{value = 1, next = {value = 2}}', '{value = 1, next = {value = "2"}}']),
    ).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'next.value: expected number, got "2"' },
    ]);
  });

  it('a tagged union tells what is wrong with a value as the member its tag names', async () => {
    expect(
      await checks(
        ['type Reply = {ok: true, value: integer} | {ok: false, error: string}'],
        'Reply',
        ['{ok = false, error = "x"}', '{ok = false, error = 1}', '{ok = "yes"}'],
      ),
    ).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'error: expected string, got 1' },
      { ok: false, err: 'expected Reply, got table' },
    ]);
  });

  it('a declaration may use types declared further down, also each other', async () => {
    const declarations = [
      'type Order = {id: string, lines: {Line}}',
      'type Line = {sku: string, order?: Order}',
    ];
    expect(
      await checks(declarations, 'Order', [
        '{id = "o", lines = {{sku = "a", order = {id = "p", lines = {}}}}}',
        '{id = "o", lines = {{sku = 1}}}',
        '{id = "o", lines = {{sku = "a", order = {lines = {}}}}}',
      ]),
    ).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'lines[1].sku: expected string, got 1' },
      { ok: false, err: 'lines[1].order.id: missing (expected string)' },
    ]);
  });

  it('typeof(local) is the type the local was annotated with', async () => {
    expect(
      await checks(
        ['local sample: {name: string} = {name = "a"}', 'type Sample = typeof(sample)'],
        'Sample',
        ['{name = "b"}', '{name = 1}'],
      ),
    ).toEqual([
      { ok: true, err: false },
      { ok: false, err: 'name: expected string, got 1' },
    ]);
  });

  it('a type not known at run time fails the check, saying so, but loads', async () => {
    expect(
      await checks(['type Message = process.Message', 'type Later = Unknown<string>'], 'Message', [
        '{}',
      ]),
    ).toEqual([{ ok: false, err: 'type process.Message is not known at run time' }]);
  });

  it('reflection: name and kind', async () => {
    expect(
      await value(
        ['type P = {x: number}', 'type Ids = {integer}', 'type M = {[string]: number}'],
        [
          '  return {P:name(), P:kind(), Ids:kind(), M:kind(), integer:kind(), string.format("%s", P)}',
        ],
      ),
    ).toEqual(['P', 'record', 'array', 'map', 'integer', 'P']);
  });

  it('reflection: the parts of records, arrays, maps, optionals and unions are type values', async () => {
    expect(
      await value(
        [
          'type User = {name: string, age?: integer}',
          'type Ids = {integer}',
          'type Scores = {[string]: number}',
          'type Status = "open" | "closed"',
          'type Maybe = string?',
        ],
        [
          '  local fields = {}',
          '  for name, t in User:fields() do fields[#fields + 1] = name .. "=" .. t:kind() end',
          '  local variants = {}',
          '  for v in Status:variants() do variants[#variants + 1] = tostring(v) end',
          '  return {fields, Ids:elem():kind(), Scores:key():kind(), Scores:val():kind(),',
          '    Maybe:inner():kind(), variants, Ids:elem() == integer, Ids:key()}',
        ],
      ),
    ).toEqual([
      ['name=string', 'age=integer'],
      'integer',
      'string',
      'number',
      'string',
      ['"open"', '"closed"'],
      true,
    ]);
  });
});

describe('casts: T(v) gives v or raises an INVALID error', () => {
  it('declared types and the global integer, number, boolean and string', async () => {
    expect(
      await value(
        ['type Point = {x: number}'],
        [
          '  local p = Point({x = 1})',
          '  local i = integer(3.0)',
          '  return {p.x, i, math.type(i), number(2.5), boolean(false), string("s")}',
        ],
      ),
    ).toEqual([1, 3, 'integer', 2.5, false, 's']);
  });

  it('a failed cast is an INVALID error object naming the type and the problem', async () => {
    expect(
      await value(
        ['type Point = {x: number}'],
        [
          '  local ok, err = pcall(Point, {x = "1"})',
          '  local ok2, err2 = pcall(string, 42)',
          '  local ok3, err3 = pcall(integer, 1.5)',
          '  return {ok, err:kind(), err:message(), ok2, err2:message(), ok3, err3:message()}',
        ],
      ),
    ).toEqual([
      false,
      'Invalid',
      'cannot cast to Point: x: expected number, got "1"',
      false,
      'cannot cast to string: expected string, got 42',
      false,
      'cannot cast to integer: expected integer, got 1.5',
    ]);
  });
});

describe('plain Lua stays as it was', () => {
  it('string is still the string library, and names like number are ordinary locals', async () => {
    expect(
      await value(
        [],
        [
          '  local number, string2 = 5, string',
          '  local names = {}',
          '  for name in pairs(string) do names[name] = true end',
          '  local ok = pcall(function() string.upper = nil end)',
          '  return {number + 1, string2.format("%d", 7), ("ab"):upper(), type(string),',
          '    names.format == true, ok}',
        ],
      ),
    ).toEqual([6, '7', 'AB', 'table', true, false]);
  });

  it('shared type values cannot be changed, not even with rawset', async () => {
    expect(
      await value(
        [],
        [
          '  local a = pcall(function() integer.is = function() return 1 end end)',
          '  local b = pcall(rawset, integer, "is", print)',
          '  local c = pcall(rawset, string, "x", 1)',
          '  return {a, b, c, integer:is(1.5) == nil}',
        ],
      ),
    ).toEqual([false, false, false, true]);
  });
});

describe('declarations that cannot be built fail where they stand', () => {
  it('a bad validator argument or regular expression is an error at its line', async () => {
    const exit = await h.run(chunk(['local x = 1', 'type Name = string @pattern("(")'], []));
    expect(exit.ok).toBe(false);
    expect(exit.error?.message).toMatch(
      /entry\d+\.lua:2: type validator @pattern has an invalid regular expression: .*missing closing \)/,
    );
    const minExit = await h.run(chunk(['type Age = integer @min("0")'], []));
    expect(minExit.error?.message).toMatch(/entry\d+\.lua:1: type validator @min expects a number/);
  });

  it('a name that holds something else than a type is an error at its line', async () => {
    const exit = await h.run(chunk(['local helper = {}', 'type Bad = helper'], []));
    expect(exit.error?.message).toMatch(
      /entry\d+\.lua:2: type helper is a table value, not a type/,
    );
  });
});

describe('types of an imported library are fields of its table', () => {
  it('lib.T:is(v) and a type built from one', async () => {
    const lib = h.prepare(
      ['type Port = integer @min(1) @max(65535)', 'return { Port = Port }'].join('\n'),
    );
    const entry = h.prepare(
      chunk(
        ['local net = require("net")', 'type Server = {port: net.Port}'],
        ['  local _, err = Server:is({port = 0})', '  return {net.Port:is(80), err}'],
      ),
      { imports: { net: lib } },
    );
    expect(await h.wait(h.start(entry, encodeValues([])))).toEqual({
      ok: true,
      value: [80, 'port: 0 is less than the minimum 1'],
    });
  });
});
