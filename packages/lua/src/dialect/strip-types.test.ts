import { describe, expect, it } from 'vitest';
import { stripTypeAnnotations } from './strip-types.js';

function strip(source: string): string {
  const result = stripTypeAnnotations(source);
  if (!result.ok) throw new Error(`unexpected error: ${JSON.stringify(result.error)}`);
  return result.source;
}

/**
 * Strips `typed` and checks the result is `plain` once runs of spaces are folded, and that
 * nothing moved: every character left is where it was, only blanks replaced the rest.
 */
function expectPlain(typed: string, plain: string): void {
  const stripped = strip(typed);
  expect(stripped.replace(/ +/g, ' ').replace(/^ | $/gm, '')).toBe(plain);
  expect(Buffer.byteLength(stripped)).toBe(Buffer.byteLength(typed));
  const kept = [...stripped].every((c, i) => c === ' ' || c === typed[i]);
  expect(kept, `characters moved in:\n${stripped}`).toBe(true);
}

function errorOf(source: string) {
  const result = stripTypeAnnotations(source);
  if (result.ok) throw new Error(`no error for ${source}, got:\n${result.source}`);
  return result.error;
}

describe('stripTypeAnnotations: the annotation forms', () => {
  it('blanks parameter and return types of named, local, method and anonymous functions', () => {
    expectPlain(
      'function area(w: number, h: number): number return w * h end',
      'function area(w , h ) return w * h end',
    );
    expectPlain(
      'local function label(n: integer?): string return "" end',
      'local function label(n ) return "" end',
    );
    expectPlain(
      'function Shop.cart:add(item: {sku: string, qty: integer}): boolean end',
      'function Shop.cart:add(item ) end',
    );
    expectPlain(
      'local twice = function(f: (number) -> number, x: number): number return f(f(x)) end',
      'local twice = function(f , x ) return f(f(x)) end',
    );
  });

  it('blanks optional and variadic parameters and every shape of returns', () => {
    expectPlain('local function greet(name?: string) end', 'local function greet(name ) end');
    expectPlain('local function total(...: number): number end', 'local function total(... ) end');
    expectPlain(
      'local function split(s: string): (string, string?) end',
      'local function split(s ) end',
    );
    expectPlain(
      'local function lookup(k: string): string?, string?\n  return nil, "missing"\nend',
      'local function lookup(k )\nreturn nil, "missing"\nend',
    );
  });

  it('blanks type parameters of generic functions', () => {
    expectPlain(
      'local function keep<T>(x: T): T return x end',
      'local function keep (x ) return x end',
    );
    expectPlain(
      'local function pair<K, V: {id: string}>(k: K, v: V): {key: K, value: V} end',
      'local function pair (k , v ) end',
    );
  });

  it('blanks types of locals, several at once, with attributes, and of for-loop names', () => {
    expectPlain('local count: integer = 0', 'local count = 0');
    expectPlain('local ok: boolean?, why: string? = check()', 'local ok , why = check()');
    expectPlain('local limit <const>: number = 10', 'local limit <const> = 10');
    expectPlain('local pending: {string}\npending = {}', 'local pending\npending = {}');
    expectPlain(
      'for i: integer = 1, 3 do end\nfor k: string, v: any in pairs(t) do end',
      'for i = 1, 3 do end\nfor k , v in pairs(t) do end',
    );
  });

  it('turns type declarations of every kind into one line of Lua each, lines kept', () => {
    const typed = [
      'type Id = number | string',
      'type Mood = "calm" | "busy"',
      'type Point = {x: number, y: number, label?: string}',
      'type Scores = {[string]: number @min(0) @max(100)}',
      'type Names = readonly {string} @min_len(1)',
      'type Both = Point & {z: number}',
      'type Handler = (msg: string, ...any) -> (boolean, string?)',
      'type Mapper = <T>(T) -> T',
      'type Box<T> = {value: T}',
      'export type Boxes<T = any> = {Box<Box<T>>}',
      'type Reply =',
      '    {ok: true, value: any}',
      '  | {ok: false, error: string}  local after = 1',
      'type Node = tree.Node',
      'type Sample = typeof(sample)',
      'type Items = any[]',
      'local x = 1',
    ].join('\n');
    const lines = strip(typed).split('\n');
    const declared = ['Id', 'Mood', 'Point', 'Scores', 'Names', 'Both', 'Handler', 'Mapper', 'Box'];
    declared.push('Boxes', 'Reply', '', '', 'Node', 'Sample', 'Items');
    expect(lines).toHaveLength(17);
    declared.forEach((name, i) => {
      if (name !== '') expect(lines[i]).toMatch(new RegExp(`^local ${name}; do .* end$`));
    });
    // The rest of a declaration's lines are blanked; code after it keeps its column.
    expect(lines[11]).toBe('');
    expect(lines[12]).toBe(`${' '.repeat(32)}local after = 1`);
    expect(lines[16]).toBe('local x = 1');
  });

  it('opens the chunk with a scope table when a declaration uses a type declared further down', () => {
    const lines = strip(
      'local a = 1\ntype Order = {lines: {Line}}\ntype Line = {sku: string}',
    ).split('\n');
    expect(lines[0]).toBe('local __luact_scope = {}; local a = 1');
    expect(lines[1]).toContain('__t.later("Line", __luact_scope)');
    expect(lines[1]).toMatch(/ __luact_scope\.Order = Order end$/);
    expect(lines[2]).toMatch(/ __luact_scope\.Line = Line end$/);
    // Without such a use, no scope: declarations stay as they are.
    expect(strip('type A = string\ntype B = {a: A}')).not.toContain('__luact_scope');
  });

  it('builds a declaration from the parts of its type, names resolved where they stand', () => {
    expect(strip('type P = {x: number, tag?: "a" | 1}')).toBe(
      'local P; do local __t = __luact_types; P = __t.define("P", __t.table(' +
        '{{"x", __t.builtin["number"], false}, {"tag", __t.union({__t.literal("a"), __t.literal(1)}), true}}, {}, nil)) end',
    );
    // A type parameter is the builder's argument; a library's type is read from its table;
    // the declared type inside itself is read when a value is checked.
    expect(strip('type Tree<T> = {value: T, kids: {Tree<T>}, meta: lib.Meta}')).toBe(
      'local Tree; do local __t = __luact_types; Tree = __t.generic("Tree", 1, {nil}, function(T) return ' +
        '__t.table({{"value", T, false}, {"kids", __t.table({}, {}, __t.apply(__t.itself("Tree", function() return Tree end), {T})), false}, ' +
        '{"meta", __t.ref("lib.Meta", lib, "Meta"), false}}, {}, nil) end) end',
    );
    // typeof(name) is the type the local was annotated with.
    expect(strip('local s: {n: integer} = {}\ntype S = typeof(s)').split('\n')[1]).toBe(
      'local S; do local __t = __luact_types; S = __t.define("S", __t.table({{"n", __t.builtin["integer"], false}}, {}, nil)) end',
    );
    expect(strip('type V = string @pattern("^a\\.b$") @max_len(3)')).toContain(
      '__t.validated(__t.builtin["string"], {{"pattern", "^a\\.b$"}, {"max_len", 3}})',
    );
  });

  it('blanks casts with as and ::, and the non-nil assertion !', () => {
    expectPlain('local n = raw as number', 'local n = raw');
    expectPlain('return ({id = 1} :: {id: integer}).id', 'return ({id = 1} ).id');
    expectPlain('local name = (user!).name', 'local name = (user ).name');
    expectPlain('f(x as {string}, y)', 'f(x , y)');
    // After a cast's type, `<` that opens no type arguments is Lua's comparison.
    expectPlain('if n as integer < 5 then end', 'if n < 5 then end');
    expectPlain('local ok = (v :: Box<string>) ~= nil', 'local ok = (v ) ~= nil');
  });

  it('keeps the byte width of non-ASCII text inside an annotation', () => {
    const typed = 'local g: "héllo" | "日本" = "日本"\nlocal x = 1';
    const stripped = strip(typed);
    expect(Buffer.byteLength(stripped)).toBe(Buffer.byteLength(typed));
    expect(stripped.endsWith(' = "日本"\nlocal x = 1')).toBe(true);
  });
});

describe('stripTypeAnnotations: plain Lua', () => {
  const plainSources = {
    'method calls and definitions': [
      'local s = ("x"):rep(3):upper()',
      'function M.obj:run(a, b) return self:step(a):done(b) end',
      'local t = { f = function(self) return self end }',
      'print(obj:name(), obj : other())',
    ],
    labels: [
      'for i = 1, 3 do',
      '  if i == 2 then goto continue end',
      '  print(i)',
      '  ::continue::',
      'end',
      'do f() ::top:: end',
    ],
    'strings and comments that look typed': [
      'local a = "local x: number = 1"',
      "local b = 'function f(a: T): R end'",
      'local c = [[type X = {a: number}]]',
      'local d = [==[ x :: T ]] ]==]',
      '-- type Y = string',
      '--[[ local z: number = 1 ]]',
      '--[==[ e as T ]==] local e = 1',
    ],
    '`type`, `as` and `export` as ordinary names': [
      'local type = type',
      'print(type(x), t.type, { type = "a" })',
      'local kind = type',
      'X = 1',
      'local as, export = 1, 2',
      'print(as, export)',
      'obj.as = nil',
      'local f = function(type, as) return type, as end',
    ],
    'operators and attributes': [
      'local n = 1 | 2 & 3 ~ 4',
      'local b = a < c and c > d or not (a ~= b)',
      'local k <const>, h <close> = 5, nil',
      'local r = a // b .. "x" .. ... ',
    ],
  };
  for (const [what, lines] of Object.entries(plainSources)) {
    it(`returns ${what} as the very same string`, () => {
      const source = lines.join('\n');
      expect(stripTypeAnnotations(source)).toEqual({ ok: true, source });
      expect(strip(source)).toBe(source);
    });
  }
});

describe('stripTypeAnnotations: malformed annotations', () => {
  it('names line, column and what was expected', () => {
    expect(errorOf('local x: number< = 42')).toEqual({
      line: 1,
      column: 18,
      message: "type annotation: expected a type after '<', found '='",
    });
    expect(errorOf('local a = 1\nlocal function f(x: ) end')).toEqual({
      line: 2,
      column: 21,
      message: "type annotation: expected a type after ':', found ')'",
    });
  });

  it('reports an unclosed table type at the end, naming where it opened', () => {
    expect(errorOf('type P = {x: number,\n  y: number\nlocal p = 1')).toMatchObject({
      line: 3,
      column: 1,
      message: expect.stringMatching(/expected ',' or '}' \(to close the table type at 1:10\)/),
    });
  });

  it('reports the column of the original text after annotations stripped on the same line', () => {
    // Blanked text before the error changes nothing: the column is the typed file's.
    expect(errorOf('local a: number, b: string, c: {[string] number} = 1')).toMatchObject({
      line: 1,
      column: 42,
      message: "type annotation: expected ':' after ']', found 'number'",
    });
  });

  it('rejects a type declaration without = and a validator without a name', () => {
    expect(errorOf('type Pair<A, B> {a: A}')).toMatchObject({
      line: 1,
      column: 17,
      message: "type annotation: expected '=' after the type parameters, found '{'",
    });
    expect(errorOf('local x: number @ = 1')).toMatchObject({ line: 1, column: 19 });
  });

  it('refuses, in a declaration, a validator the runtime does not know or one without argument', () => {
    expect(errorOf('local ok = 1\ntype Age = integer @min(0) @positive')).toEqual({
      line: 2,
      column: 28,
      message:
        'type annotation: unknown validator @positive (known: @min, @max, @min_len, @max_len, @pattern)',
    });
    expect(errorOf('type Name = string @min_len')).toEqual({
      line: 1,
      column: 20,
      message: 'type annotation: validator @min_len needs an argument',
    });
    // In an annotation a validator does nothing at run time: any name is taken.
    expect(stripTypeAnnotations('local n: integer @positive = 1').ok).toBe(true);
  });
});
