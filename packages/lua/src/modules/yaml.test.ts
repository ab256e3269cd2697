import { describe, expect, it } from 'vitest';
import { moduleSnippets } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `yaml` in scope) as a process's main function; resolves its exit. */
const run = moduleSnippets('yaml');

/** Lua that returns `{ value is nil, kind, retryable, message }` of `call`'s two results. */
function failure(call: string): string {
  return `local value, err = ${call}
          return { value == nil, err:kind(), err:retryable(), err:message() }`;
}

describe('yaml.encode', () => {
  it('writes maps with sorted keys, lists as sequences and nested tables indented by two', async () => {
    const exit = await run(`return yaml.encode({
        zeta = 1, alpha = "text", list = { 1, 2.5, true }, nested = { b = { c = "d" } },
      })`);
    expect(exit).toEqual({
      ok: true,
      value: 'alpha: text\nlist:\n  - 1\n  - 2.5\n  - true\nnested:\n  b:\n    c: d\nzeta: 1\n',
    });
  });

  it('sorts keys in natural order (item2 before item10), or character by character with sort_unordered', async () => {
    const exit = await run(`local t = { item10 = 1, item2 = 2, Item3 = 3, [true] = 4, [7] = 5 }
      return { yaml.encode(t), yaml.encode(t, { sort_unordered = true }) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'true: 4\n7: 5\nItem3: 3\nitem2: 2\nitem10: 1\n',
        'true: 4\n7: 5\nItem3: 3\nitem10: 1\nitem2: 2\n',
      ],
    });
  });

  it('quotes strings that would read back as another type', async () => {
    const exit = await run(`return yaml.encode({ a = "123", b = "true", c = "", d = "x: y" })`);
    expect(exit).toEqual({ ok: true, value: 'a: "123"\nb: "true"\nc: ""\nd: "x: y"\n' });
  });

  it('puts field_order keys first in every mapping, the rest sorted after them', async () => {
    const exit = await run(`return yaml.encode(
        { zebra = 1, alpha = 2, name = "test", kind = "demo", meta = { kind = 1, a = 2 } },
        { field_order = { "name", "kind" }, sort_unordered = true })`);
    expect(exit).toEqual({
      ok: true,
      value: 'name: test\nkind: demo\nalpha: 2\nmeta:\n  kind: 1\n  a: 2\nzebra: 1\n',
    });
  });

  it('writes an empty table as {} and integer keys of a sparse table as numbers', async () => {
    const exit = await run(`return { yaml.encode({}), yaml.encode({ [1] = "a", [3] = "c" }) }`);
    expect(exit).toEqual({ ok: true, value: ['{}\n', '1: a\n3: c\n'] });
  });

  it('refuses a value that is not a table with an INVALID error', async () => {
    expect(await run(failure('yaml.encode("not a table")'))).toEqual({
      ok: true,
      value: [true, 'Invalid', false, 'yaml.encode: data must be a table, got string'],
    });
  });

  it('refuses a table holding a function, naming where it is', async () => {
    expect(await run(failure('yaml.encode({ handlers = { run = print } })'))).toEqual({
      ok: true,
      value: [
        true,
        'Invalid',
        false,
        "yaml.encode: cannot encode a function (at key 'handlers.run')",
      ],
    });
  });

  it('refuses a field_order that is not a list of strings', async () => {
    expect(await run(failure('yaml.encode({ a = 1 }, { field_order = { "a", 2 } })'))).toEqual({
      ok: true,
      value: [
        true,
        'Invalid',
        false,
        'yaml.encode: options.field_order[2] must be a string, got number',
      ],
    });
  });
});

describe('yaml.decode', () => {
  it('reads maps, sequences, integers, floats, booleans and null', async () => {
    const exit =
      await run(`local v = yaml.decode("n: 42\\nf: 3.25\\nb: false\\nnothing: null\\nlist: [a, 2]\\n")
      return { math.type(v.n), v.n, math.type(v.f), v.f, v.b, v.nothing == nil, v.list[1], v.list[2] }`);
    expect(exit).toEqual({ ok: true, value: ['integer', 42, 'float', 3.25, false, true, 'a', 2] });
  });

  it('keeps integers beyond 2^53 exact', async () => {
    const exit = await run(`local v = yaml.decode("big: 9007199254740993")
      return { v.big == 9007199254740993, math.type(v.big) }`);
    expect(exit).toEqual({ ok: true, value: [true, 'integer'] });
  });

  it('gives integer keys as Lua integers, not strings', async () => {
    const exit = await run(`local v = yaml.decode("1: one\\n2: two\\n")
      return { v[1], v[2], v["1"] == nil }`);
    expect(exit).toEqual({ ok: true, value: ['one', 'two', true] });
  });

  it('follows anchors, aliases and << merge keys', async () => {
    const exit =
      await run(`local v = yaml.decode("base: &b {x: 1, y: 2}\\nderived:\\n  <<: *b\\n  y: 3\\n")
      return { v.derived.x, v.derived.y }`);
    expect(exit).toEqual({ ok: true, value: [1, 3] });
  });

  it('reads the first document of a stream only', async () => {
    const exit = await run(`return yaml.decode("a: 1\\n---\\na: 2\\n").a`);
    expect(exit).toEqual({ ok: true, value: 1 });
  });

  it('gives nil without an error for a document of only a comment', async () => {
    const exit = await run(`local v, err = yaml.decode("# nothing here\\n")
      return { v == nil, err == nil }`);
    expect(exit).toEqual({ ok: true, value: [true, true] });
  });

  it('refuses a value that is not a string, and the empty string, with INVALID errors', async () => {
    expect(await run(failure('yaml.decode(123)'))).toEqual({
      ok: true,
      value: [true, 'Invalid', false, 'yaml.decode: data must be a string, got number'],
    });
    expect(await run(failure('yaml.decode("")'))).toEqual({
      ok: true,
      value: [true, 'Invalid', false, 'yaml.decode: data is empty'],
    });
  });

  it('refuses text that is not YAML with an INTERNAL error naming line and column', async () => {
    expect(await run(failure('yaml.decode("a: 1\\nb: [1, 2\\n")'))).toEqual({
      ok: true,
      value: [true, 'Internal', false, expect.stringMatching(/^yaml\.decode: line 3, column 1: /)],
    });
  });

  it('refuses a mapping with the same key twice', async () => {
    const exit = await run(failure('yaml.decode("a: 1\\na: 2\\n")'));
    expect(exit).toEqual({
      ok: true,
      value: [
        true,
        'Internal',
        false,
        expect.stringMatching(/^yaml\.decode: line 2, column 1: .*unique/),
      ],
    });
  });

  it('refuses a document nested deeper than 64 levels with an error, not a raised one', async () => {
    const exit = await run(failure('yaml.decode(string.rep("[", 65) .. string.rep("]", 65))'));
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Internal', false, 'yaml.decode: the document nests deeper than 64 levels'],
    });
    const fits = await run('return #yaml.decode(string.rep("[", 64) .. string.rep("]", 64))');
    expect(fits).toEqual({ ok: true, value: 1 });
  });

  it('stops a document that expands aliases without bound ("billion laughs")', async () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
    ]) {
      rows.push(
        `${name}: &${name} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
      );
    }
    const exit = await run(failure(`yaml.decode(${JSON.stringify(rows.join('\n'))})`));
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Internal', false, expect.stringContaining('alias')],
    });
  });
});

describe('yaml round trip', () => {
  it('gives back what it encoded: nested maps, lists, bytes that are not UTF-8', async () => {
    const exit =
      await run(`local original = { name = "x", list = { 1, 2, { deep = true } }, raw = "\\255\\0\\1" }
      local back = yaml.decode(yaml.encode(original))
      return { back.name, back.list[3].deep, back.raw == original.raw, #back.list }`);
    expect(exit).toEqual({ ok: true, value: ['x', true, true, 3] });
  });
});
