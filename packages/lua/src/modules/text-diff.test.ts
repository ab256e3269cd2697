import { afterEach, describe, expect, it } from 'vitest';
import { moduleSnippets, VmHarness } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `text` and a default differ `d` in scope) as a process's main. */
const run = moduleSnippets(
  'text',
  `local d = assert(text.diff.new())
`,
);

describe('text.Differ:compare', () => {
  it('gives the character diff of diff-match-patch, without semantic clean-up', async () => {
    const exit = await run(`local out = {}
      for i, piece in ipairs(d:compare("hello world", "hello there")) do
        out[i] = piece.operation .. ":" .. piece.text
      end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: ['equal:hello ', 'delete:wo', 'insert:the', 'equal:r', 'delete:ld', 'insert:e'],
    });
  });

  it('gives one equal piece for the same text', async () => {
    const exit = await run(`return d:compare("same text", "same text")`);
    expect(exit).toEqual({ ok: true, value: [{ operation: 'equal', text: 'same text' }] });
  });

  it('never cuts a character outside the BMP (an emoji) in two', async () => {
    const exit = await run(`return d:compare("a😀b", "a😁b")`);
    expect(exit).toEqual({
      ok: true,
      value: [
        { operation: 'equal', text: 'a' },
        { operation: 'delete', text: '😀' },
        { operation: 'insert', text: '😁' },
        { operation: 'equal', text: 'b' },
      ],
    });
  });

  it('diffs bytes that are not UTF-8 byte by byte and gives them back unchanged', async () => {
    const exit = await run(`local diffs = d:compare("a\\255c", "a\\254c")
      return { #diffs, diffs[2].text == "\\255", diffs[3].text == "\\254" }`);
    expect(exit).toEqual({ ok: true, value: [4, true, true] });
  });

  it('returns an INVALID error for a text that is not a string', async () => {
    const exit = await run(`local diffs, err = d:compare("a", nil)
      return { diffs == nil, err:kind(), err:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Invalid', 'text.Differ:compare: text2 must be a string, got nil'],
    });
  });
});

describe('text.Differ summaries and renderings', () => {
  it('counts bytes per operation', async () => {
    const exit = await run(`return d:summarize(d:compare("hello world", "hello thére"))`);
    expect(exit).toEqual({ ok: true, value: { equals: 7, deletions: 4, insertions: 5 } });
  });

  it('colours insertions green and deletions red with ANSI codes', async () => {
    const exit = await run(`return d:pretty_text({ { operation = "equal", text = "a" },
      { operation = "delete", text = "b" }, { operation = "insert", text = "c" } })`);
    expect(exit).toEqual({ ok: true, value: 'a\x1b[31mb\x1b[0m\x1b[32mc\x1b[0m' });
  });

  it('writes HTML with ins, del and span, escaping the text and marking line breaks', async () => {
    const exit = await run(`return d:pretty_html({ { operation = "equal", text = "a<b" },
      { operation = "delete", text = "&\\n" }, { operation = "insert", text = "x" } })`);
    expect(exit).toEqual({
      ok: true,
      value:
        '<span>a&lt;b</span><del style="background:#ffe6e6;">&amp;&para;<br></del>' +
        '<ins style="background:#e6ffe6;">x</ins>',
    });
  });

  it('refuses a diff list whose entry is not an operation and a text, naming the entry', async () => {
    const exit =
      await run(`local s, err = d:summarize({ { operation = "equal", text = "a" }, { operation = "move" } })
      return { s == nil, err:kind(), err:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        true,
        'Invalid',
        'text.Differ:summarize: diffs[2] must be { operation = "equal" | "delete" | "insert", text = string }',
      ],
    });
  });
});

describe('text.Differ patches', () => {
  it('makes patches in the diff-match-patch text form and applies them', async () => {
    const exit = await run(`local a = "The quick brown fox jumps over the lazy dog"
      local b = "The quick red fox jumps over the lazy cat"
      local patches = d:patch_make(a, b)
      local result, ok = d:patch_apply(patches, a)
      return { patches, result == b, ok }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        [
          { text: '@@ -7,13 +7,11 @@\n ick \n-brown\n+red\n  fox\n' },
          { text: '@@ -35,7 +35,7 @@\n azy \n-dog\n+cat\n' },
        ],
        true,
        true,
      ],
    });
  });

  it('counts patch offsets in characters, as go-diff does, for text with emoji', async () => {
    const exit = await run(`local patches = d:patch_make("😀😀 x", "😀😀 y")
      local result, ok = d:patch_apply(patches, "😀😀 x")
      return { patches[1].text, result, ok }`);
    expect(exit).toEqual({
      ok: true,
      value: ['@@ -1,4 +1,4 @@\n %F0%9F%98%80%F0%9F%98%80 \n-x\n+y\n', '😀😀 y', true],
    });
  });

  it('applies what still fits to a changed text and says not all applied', async () => {
    const exit = await run(`local patches = d:patch_make("one two three", "one 2 three")
      return { d:patch_apply(patches, "completely other words") }`);
    expect(exit).toEqual({ ok: true, value: ['completely other words', false] });
  });

  it('refuses a patch text that is not a patch, naming its place in the list', async () => {
    const exit = await run(`local r, err = d:patch_apply({ { text = "garbage" } }, "x")
      return { r == nil, err:kind(), err:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [true, 'Invalid', 'text.Differ:patch_apply: patch 1: Invalid patch string: garbage'],
    });
  });
});

describe('text.diff.new', () => {
  it('takes the options of diff-match-patch and refuses unknown or out-of-range ones', async () => {
    const exit =
      await run(`local ok = text.diff.new({ diff_timeout = 2.0, match_threshold = 0.5, patch_margin = 2 })
      local _, unknown = text.diff.new({ timeout = 1 })
      local _, range = text.diff.new({ match_threshold = 2 })
      local _, kind = text.diff.new({ diff_edit_cost = "high" })
      return { ok ~= nil, unknown:message(), range:message(), kind:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        true,
        'text.diff.new: unknown option timeout',
        'text.diff.new: options.match_threshold must be between 0 and 1, got 2',
        'text.diff.new: options.diff_edit_cost must be an integer, got string',
      ],
    });
  });

  it('uses the patch margin it was given as the context around a change', async () => {
    const exit = await run(`local wide = text.diff.new({ patch_margin = 8 })
      return { d:patch_make("abcdefghij-klmnopqrst", "abcdefghij+klmnopqrst")[1].text,
               wide:patch_make("abcdefghij-klmnopqrst", "abcdefghij+klmnopqrst")[1].text }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        '@@ -7,9 +7,9 @@\n ghij\n--\n++\n klmn\n',
        '@@ -3,17 +3,17 @@\n cdefghij\n--\n++\n klmnopqr\n',
      ],
    });
  });
});

describe('the time a diff takes in a process', () => {
  let h: VmHarness | undefined;
  afterEach(() => {
    h?.close();
    h = undefined;
  });

  it('is at most half the max_slice of its host, whatever diff_timeout asks for', async () => {
    // Two random texts of 20,000 letters: an exact diff takes seconds (7 s here). Asked for
    // with no limit, inside a __index called from C (where nothing preempts the process), it
    // would keep the process past its max_slice of 2 s, and the process would be stopped.
    h = await VmHarness.create({ limits: { maxSliceMs: 2000 } });
    const exit = await h.run(
      `local text = require("text")
      local function random_text(n)
        local t = {}
        for i = 1, n do t[i] = string.char(97 + math.random(0, 25)) end
        return table.concat(t)
      end
      return { main = function()
        local a, b = random_text(20000), random_text(20000)
        local d = assert(text.diff.new({ diff_timeout = 0 }))
        local function index() return tostring(#d:compare(a, b) > 0) end
        return table.concat(setmetatable({}, { __index = index, __len = function() return 1 end }))
      end }`,
      [],
      { modules: ['text'] },
    );
    expect(exit).toEqual({ ok: true, value: 'true' });
  }, 30_000);
});
