import { describe, expect, it } from 'vitest';
import { yaml } from '../testing/app-dir.js';
import { readDefinitionFile } from './read-definitions.js';

const FILE = '/app/defs.yaml';

function problemsOf(text: string) {
  return readDefinitionFile(FILE, text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => [d.code, d.location?.line, d.location?.column, d.message]);
}

/** A billion-laughs document: `levels` anchors, each listing the one before nine times. */
function aliasBomb(levels: number): string {
  let text = 'namespace: app\nentries: []\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < levels; i++) {
    text += `l${i}: &l${i} [${Array(9)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  }
  return text;
}

describe('YAML aliases', () => {
  it('reports an alias inside the node it names, at the alias, instead of overflowing the stack', () => {
    expect(
      problemsOf(yaml`
        namespace: app
        entries:
          - &entry
            name: loop
            kind: registry.entry
            self: *entry
      `),
    ).toEqual([
      [
        'yaml-alias',
        6,
        11,
        'alias *entry refers to itself: it is inside the node &entry names (line 4, column 5), so its value would never end',
      ],
    ]);
  });

  it('reports a merge key that merges the mapping it sits in', () => {
    expect(
      problemsOf(yaml`
        namespace: app
        entries:
          - &base
            name: x
            kind: registry.entry
            <<: *base
      `),
    ).toMatchObject([
      ['yaml-alias', 6, 9, expect.stringMatching(/^alias \*base refers to itself/)],
    ]);
  });

  it('reports a loop through a second anchor once, at the alias that closes it', () => {
    expect(
      problemsOf(yaml`
        namespace: app
        entries:
          - &a
            name: x
            kind: registry.entry
            list: &b [1, *a]
            again: *b
      `),
    ).toMatchObject([['yaml-alias', 6, 18, expect.stringMatching(/^alias \*a refers to itself/)]]);
  });

  it('reports an alias with no anchor before it', () => {
    expect(
      problemsOf('namespace: app\nentries:\n  - *later\n  - &later {name: x, kind: y}\n'),
    ).toEqual([['yaml-alias', 3, 5, 'alias *later has no anchor &later before it']]);
  });

  it('reports an alias bomb with its size and the limit, at once', () => {
    const [problem, ...others] = problemsOf(aliasBomb(10));
    expect(others).toEqual([]);
    expect(problem).toEqual([
      'yaml-alias',
      12,
      10,
      'too many alias expansions (4,412,961,405 nodes, limit 100,000): an alias bomb? *l8 here alone expands to 435,848,050 nodes',
    ]);
  });

  it('reports a bomb too large to count without counting it', () => {
    expect(problemsOf(aliasBomb(40))).toMatchObject([
      [
        'yaml-alias',
        expect.any(Number),
        expect.any(Number),
        expect.stringContaining('more than 1,000,000,000,000 nodes, limit 100,000'),
      ],
    ]);
  });

  it('accepts an anchor used by every entry of a large file', () => {
    const entries = Array.from(
      { length: 1500 },
      (_, i) => `  - { name: e${i}, kind: registry.entry, lifecycle: *defaults }`,
    );
    const read = readDefinitionFile(
      FILE,
      `namespace: app\nmeta: &defaults { auto_start: true }\nentries:\n${entries.join('\n')}\n`,
    );
    expect(read.diagnostics).toEqual([]);
    expect(read.definitions).toHaveLength(1500);
  });

  it('keeps reading the other documents of the file', () => {
    const read = readDefinitionFile(
      FILE,
      'namespace: a\nentries: &e [*e]\n---\nnamespace: b\nname: fine\nkind: registry.entry\n',
    );
    expect(read.diagnostics.map((d) => d.code)).toEqual(['yaml-alias']);
    expect(read.definitions.map((d) => `${d.namespace}:${d.name}`)).toEqual(['b:fine']);
  });
});

describe('YAML nesting', () => {
  it('reports collections nested too deeply for the parser once, where the parser gave up', () => {
    const text = `namespace: app\nentries: []\ndeep: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const problems = problemsOf(text);
    expect(problems).toMatchObject([
      ['yaml-nesting', 3, expect.any(Number), expect.stringContaining('nest too deeply')],
    ]);
  });
});
