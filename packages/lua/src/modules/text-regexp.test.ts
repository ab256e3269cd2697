import { describe, expect, it } from 'vitest';
import { moduleSnippets } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `text` and `re(pattern)` in scope) as a process's main function. */
const run = moduleSnippets(
  'text',
  `local function re(pattern) return assert(text.regexp.compile(pattern)) end
`,
);

describe('text.regexp.compile', () => {
  it("refuses what Go's RE2 syntax refuses, with Go's message, as INVALID", async () => {
    const exit = await run(`local out = {}
      for _, p in ipairs({ "[invalid", "(?P<>)", "*", "a**", "(?=x)", "\\\\1", "x{1001}" }) do
        local r, err = text.regexp.compile(p)
        out[#out + 1] = { r == nil, err:kind(), err:retryable(), err:message() }
      end
      return out`);
    const refused = (message: string) => [
      true,
      'Invalid',
      false,
      `text.regexp.compile: ${message}`,
    ];
    expect(exit).toEqual({
      ok: true,
      value: [
        refused('error parsing regexp: missing closing ]: `[invalid`'),
        refused('error parsing regexp: invalid named capture: `(?P<>`'),
        refused('error parsing regexp: missing argument to repetition operator: `*`'),
        refused('error parsing regexp: invalid nested repetition operator: `**`'),
        refused('error parsing regexp: invalid or unsupported Perl syntax: `(?=`'),
        refused('error parsing regexp: invalid escape sequence: `\\1`'),
        refused('error parsing regexp: invalid repeat count: `{1001}`'),
      ],
    });
  });

  it('accepts RE2 forms JavaScript lacks: (?P<name>), \\pL, (?i) and \\z', async () => {
    const exit = await run(`return {
        re("(?P<word>\\\\pL+)"):find_string("12 héllo"),
        re("(?i)ABC"):match_string("xabcx"),
        re("end\\\\z"):match_string("the end\\n"),
        re("(?s)a.b"):match_string("a\\nb"),
        re("a.b"):match_string("a\\nb"),
      }`);
    expect(exit).toEqual({ ok: true, value: ['héllo', true, false, true, false] });
  });

  it('refuses a pattern that is neither a string nor a number', async () => {
    const exit = await run(`local r, err = text.regexp.compile({})
      return { r == nil, err:kind(), err:message(), re(42):match_string("x42") }`);
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Invalid', 'text.regexp.compile: pattern must be a string, got table', true],
    });
  });
});

describe('text.Regexp methods', () => {
  it('finds the first match, all matches, and their groups', async () => {
    const exit = await run(`local num, pair = re("[0-9]+"), re("([a-z]+)=([0-9]*)(x)?")
      return {
        num:find_string("ab12cd345"), num:find_string("none") == nil,
        num:find_all_string("a1b22c333"), #num:find_all_string("none"),
        pair:find_string_submatch("k=1 j=2"), pair:find_all_string_submatch("k=1 j="),
        pair:find_string_submatch("nothing") == nil,
      }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        '12',
        true,
        ['1', '22', '333'],
        0,
        ['k=1', 'k', '1', ''],
        [
          ['k=1', 'k', '1', ''],
          ['j=', 'j', '', ''],
        ],
        true,
      ],
    });
  });

  it('gives 1-based inclusive byte positions that string.sub takes, counting UTF-8 bytes', async () => {
    const exit = await run(`local idx = re("page\\\\d+"):find_string_index("The page1 here")
      local all = re("é+"):find_all_string_index("aébééc")
      return { idx, ("The page1 here"):sub(idx[1], idx[2]), all,
               re("z"):find_all_string_index("abc") == nil }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        [5, 9],
        'page1',
        [
          [2, 3],
          [5, 8],
        ],
        true,
      ],
    });
  });

  it("skips an empty match right after a match, as Go's FindAll does", async () => {
    const exit = await run(`return re("a*"):find_all_string_index("baaac")`);
    expect(exit).toEqual({
      ok: true,
      value: [
        [1, 0],
        [2, 4],
        [6, 5],
      ],
    });
  });

  it("replaces with Go's template rules: $1, ${name}, $$ and a lone $", async () => {
    const exit = await run(`local kv = re("(?P<key>\\\\w+)=(\\\\w+)")
      return {
        re("[0-9]+"):replace_all_string("a1b2c3", "X"),
        kv:replace_all_string("a=1, b=2", "$2:\${key}"),
        kv:replace_all_string("a=1", "$$1 costs $"),
        kv:replace_all_string("a=1", "[$1x]"),
        kv:replace_all_string("a=1", "[\${1}x]"),
      }`);
    expect(exit).toEqual({ ok: true, value: ['aXbXcX', '1:a, 2:b', '$1 costs $', '[]', '[ax]'] });
  });

  it("splits as Go's Regexp.Split: all pieces, at most n, none for n = 0", async () => {
    const exit = await run(`local comma = re(",")
      return { comma:split("a,b,c"), comma:split("a,b,c,d", 2), #comma:split("a,b", 0),
               re(""):split("abc"), comma:split(""), re("x*"):split("axbc") }`);
    expect(exit).toEqual({
      ok: true,
      value: [['a', 'b', 'c'], ['a', 'b,c,d'], 0, ['a', 'b', 'c'], [''], ['a', 'b', 'c']],
    });
  });

  it('reports its groups, their names and its pattern', async () => {
    const exit = await run(`local named = re("(?P<name>[a-z]+)(?P<num>[0-9]+)(x)")
      return { named:num_subexp(), named:subexp_names(), named:string(), re("a"):num_subexp() }`);
    expect(exit).toEqual({
      ok: true,
      value: [3, ['', 'name', 'num', ''], '(?P<name>[a-z]+)(?P<num>[0-9]+)(x)', 0],
    });
  });

  it('matches bytes that are not UTF-8 one by one, and keeps them in results', async () => {
    const exit = await run(`local found = re("a.b"):find_string("x a\\255b y")
      return { found == "a\\255b", #found }`);
    expect(exit).toEqual({ ok: true, value: [true, 3] });
  });

  it('returns an INVALID error for a subject that is not a string', async () => {
    const exit = await run(`local ok, err = re("a"):match_string({})
      return { ok == nil, err:kind(), err:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Invalid', 'text.Regexp:match_string: s must be a string, got table'],
    });
  });

  it('raises an error naming the method when it is called with a dot', async () => {
    const exit = await run(`local r = re("a")
      local ok, err = pcall(r.match_string, "a")
      return { ok, tostring(err):match("text.Regexp:match_string: call it as a method") ~= nil }`);
    expect(exit).toEqual({ ok: true, value: [false, true] });
  });

  it('answers for a nested repetition that JavaScript would backtrack through without end', async () => {
    const exit = await run(`return re("(a+)+$"):match_string(string.rep("a", 5000) .. "b")`);
    expect(exit).toEqual({ ok: true, value: false });
  });
});
