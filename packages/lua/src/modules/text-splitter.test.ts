import { describe, expect, it } from 'vitest';
import { moduleSnippets } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `text` in scope) as a process's main function; resolves its exit. */
const run = moduleSnippets('text');

const MARKDOWN = [
  '# Guide',
  '',
  'Intro paragraph.',
  '',
  '## Install',
  '',
  'Run the installer.',
  '',
  '```sh',
  'make install',
  '```',
  '',
  '| os | ok |',
  '|----|----|',
  '| linux | yes |',
  '| mac | yes |',
  '',
  'See [the docs][d].',
  '',
  '[d]: https://example.com "Docs"',
  '',
].join('\n');

/**
 * The cases of langchaingo's own tests for its RecursiveCharacter splitter (the one Wippy
 * uses): text, chunk_overlap, chunk_size, separators, keep_separator, the chunks expected.
 */
const LANGCHAINGO_CASES: [string, number, number, string[], boolean, string[]][] = [
  [
    '哈里森\n很高兴遇见你\n欢迎来中国',
    0,
    10,
    ['\n\n', '\n', ' '],
    false,
    ['哈里森\n很高兴遇见你', '欢迎来中国'],
  ],
  [
    'Hi, Harrison. \nI am glad to meet you',
    1,
    20,
    ['\n', '$'],
    false,
    ['Hi, Harrison.', 'I am glad to meet you'],
  ],
  [
    "Hi.\nI'm Harrison.\n\nHow?\na\nbHi.\nI'm Harrison.\n\nHow?\na\nb",
    1,
    40,
    ['\n\n', '\n', ' ', ''],
    false,
    ["Hi.\nI'm Harrison.", "How?\na\nbHi.\nI'm Harrison.\n\nHow?\na\nb"],
  ],
  [
    'name: Harrison\nage: 30\n\nname: Joe\nage: 32',
    1,
    40,
    ['\n\n', '\n', ' ', ''],
    false,
    ['name: Harrison\nage: 30', 'name: Joe\nage: 32'],
  ],
  [
    "Hi.\nI'm Harrison.\n\nHow? Are? You?\nOkay then f f f f.\nThis is a weird text to write, but gotta test the splittingggg some how.\n\nBye!\n\n-H.",
    1,
    10,
    ['\n\n', '\n', ' ', ''],
    false,
    [
      'Hi.',
      "I'm",
      'Harrison.',
      'How? Are?',
      'You?',
      'Okay then',
      'f f f f.',
      'This is a',
      'a weird',
      'text to',
      'write, but',
      'gotta test',
      'the',
      'splittingg',
      'ggg',
      'some how.',
      'Bye!\n\n-H.',
    ],
  ],
  [
    'Hi, Harrison. \nI am glad to meet you',
    0,
    10,
    ['\n', '$'],
    true,
    ['Hi, Harrison. ', '\nI am glad to meet you'],
  ],
];

describe('text.splitter.recursive', () => {
  it("gives langchaingo's chunks for the cases of its own tests", async () => {
    const calls = LANGCHAINGO_CASES.map(
      ([input, overlap, size, separators, keep]) =>
        `text.splitter.recursive({ chunk_overlap = ${overlap}, chunk_size = ${size}, keep_separator = ${keep},
           separators = { ${separators.map((sep) => JSON.stringify(sep)).join(', ')} } }):split_text(${JSON.stringify(input)})`,
    );
    const exit = await run(`return { ${calls.join(',\n')} }`);
    expect(exit).toEqual({ ok: true, value: LANGCHAINGO_CASES.map((c) => c[5]) });
  });

  it('cuts at spaces into chunks within the size, repeating words within the overlap', async () => {
    const exit =
      await run(`local s = text.splitter.recursive({ chunk_size = 30, chunk_overlap = 10 })
      return s:split_text("This is a long text that needs to be split into multiple chunks. Each chunk should respect the size.")`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'This is a long text that needs',
        'that needs to be split into',
        'split into multiple chunks.',
        'chunks. Each chunk should',
        'should respect the size.',
      ],
    });
  });

  it('prefers paragraph breaks and cuts a paragraph too long for a chunk at spaces', async () => {
    const exit =
      await run(`local s = text.splitter.recursive({ chunk_size = 30, chunk_overlap = 10 })
      return s:split_text("para one is here.\\n\\npara two is a bit longer than that.\\n\\nthree")`);
    expect(exit).toEqual({
      ok: true,
      value: ['para one is here.', 'para two is a bit longer than', 'than that.', 'three'],
    });
  });

  it('counts characters, not bytes, and cuts between characters when nothing else works', async () => {
    const exit = await run(`local s = text.splitter.recursive({ chunk_size = 4, chunk_overlap = 0 })
      return s:split_text("ééééééééé")`);
    expect(exit).toEqual({ ok: true, value: ['éééé', 'éééé', 'é'] });
  });

  it('uses the separators it is given, keeping them when asked', async () => {
    const exit = await run(`local opts = { chunk_size = 8, chunk_overlap = 0, separators = { ";" } }
      local keep = { chunk_size = 8, chunk_overlap = 0, separators = { ";" }, keep_separator = true }
      return { text.splitter.recursive(opts):split_text("aaa;bbb;ccc"),
               text.splitter.recursive(keep):split_text("aaa;bbb;ccc") }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['aaa;bbb', 'ccc'],
        ['aaa;bbb', ';ccc'],
      ],
    });
  });

  it('splits pages, each chunk carrying its page metadata; empty pages give none', async () => {
    const exit =
      await run(`local s = text.splitter.recursive({ chunk_size = 12, chunk_overlap = 0 })
      local chunks = s:split_batch({
        { content = "first page words", metadata = { page = 1 } },
        { content = "" },
        { content = "second" },
      })
      local out = {}
      for i, c in ipairs(chunks) do out[i] = { c.content, c.metadata.page or "none" } end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['first page', 1],
        ['words', 1],
        ['second', 'none'],
      ],
    });
  });

  it('refuses options it does not know, of the wrong type, or an overlap not below the size', async () => {
    const exit = await run(`local out = {}
      for _, o in ipairs({ { chunk_sise = 1 }, { chunk_size = 0 }, { keep_separator = "yes" },
                           { chunk_size = 10, chunk_overlap = 10 }, { separators = { ";", 2 } } }) do
        local s, err = text.splitter.recursive(o)
        out[#out + 1] = s == nil and err:kind() == errors.INVALID and err:message()
      end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'text.splitter.recursive: unknown option chunk_sise',
        'text.splitter.recursive: options.chunk_size must be at least 1, got 0',
        'text.splitter.recursive: options.keep_separator must be a boolean, got string',
        'text.splitter.recursive: options.chunk_overlap (10) must be smaller than chunk_size (10)',
        'text.splitter.recursive: options.separators [2] must be a string, got number',
      ],
    });
  });

  it('refuses a page that is not a table, naming it', async () => {
    const exit = await run(`local chunks, err = text.splitter.recursive():split_batch({ "text" })
      return { chunks == nil, err:message() }`);
    expect(exit).toEqual({
      ok: true,
      value: [true, 'text.Splitter:split_batch: pages[1] must be a table, got string'],
    });
  });
});

describe('text.splitter.markdown', () => {
  it('keeps sections apart, one table row per chunk, and leaves code and link definitions out', async () => {
    const exit = await run(
      `return text.splitter.markdown({ chunk_size = 200 }):split_text(${JSON.stringify(MARKDOWN)})`,
    );
    expect(exit).toEqual({
      ok: true,
      value: [
        '# Guide\n\nIntro paragraph.',
        '## Install\n\nRun the installer.',
        '| os | ok |\n|----|----|\n| linux | yes |',
        '| os | ok |\n|----|----|\n| mac | yes |',
        'See [the docs][d].',
      ],
    });
  });

  it('with all options: headings above every chunk, code kept, rows joined, links resolved', async () => {
    const exit = await run(`return text.splitter.markdown({ chunk_size = 200, code_blocks = true,
        heading_hierarchy = true, join_table_rows = true, reference_links = true,
      }):split_text(${JSON.stringify(MARKDOWN)})`);
    expect(exit).toEqual({
      ok: true,
      value: [
        '# Guide\n\nIntro paragraph.',
        '# Guide\n## Install\n\nRun the installer.\n\n```sh\nmake install\n```',
        '# Guide\n## Install\n\n| os | ok |\n|----|----|\n| linux | yes |\n| mac | yes |',
        '# Guide\n## Install\n\nSee [the docs](https://example.com "Docs").',
      ],
    });
  });

  it('reads underlined (setext) headings and writes every heading in # form', async () => {
    const exit = await run(`return text.splitter.markdown({ heading_hierarchy = true }):split_text(
        "Title\\n=====\\n\\nIntro.\\n\\nUsage\\n-----\\nRun it.\\n\\n###   Flags  ##\\n\\n--help")`);
    expect(exit).toEqual({
      ok: true,
      value: [
        '# Title\n\nIntro.',
        '# Title\n## Usage\n\nRun it.',
        '# Title\n## Usage\n### Flags\n\n--help',
      ],
    });
  });

  it('cuts a paragraph longer than a chunk with the recursive splitter, leaving room for the heading', async () => {
    const exit =
      await run(`return text.splitter.markdown({ chunk_size = 20, chunk_overlap = 0 }):split_text(
        "# T\\n\\none two three four five six seven")`);
    expect(exit).toEqual({
      ok: true,
      value: ['# T\n\none two three', 'four five six', 'seven'],
    });
  });
});
