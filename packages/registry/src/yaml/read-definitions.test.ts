import { describe, expect, it } from 'vitest';
import { yaml } from '../testing/app-dir.js';
import { readDefinitionFile } from './read-definitions.js';

const FILE = '/app/defs.yaml';

describe('readDefinitionFile', () => {
  it('reads a single-entry file with namespace, name and kind at the top', () => {
    const read = readDefinitionFile(
      FILE,
      'namespace: app\nname: processes\nkind: process.host\nversion: "1"\n',
    );
    expect(read.diagnostics).toEqual([]);
    expect(read.definitions).toMatchObject([
      { namespace: 'app', name: 'processes', kind: 'process.host', fields: {} },
    ]);
  });

  it('merges data: with inline fields and refuses a field written in both', () => {
    const read = readDefinitionFile(
      FILE,
      yaml`
        namespace: app
        entries:
          - name: ok
            kind: registry.entry
            meta: { owner: team }
            inline: 1
            data: { nested: 2 }
          - name: clash
            kind: registry.entry
            value: 1
            data:
              value: 2
      `,
    );
    expect(read.definitions).toMatchObject([
      { name: 'ok', meta: { owner: 'team' }, fields: { inline: 1, nested: 2 } },
    ]);
    expect(read.diagnostics).toMatchObject([
      {
        code: 'duplicate-field',
        entry: 'app:clash',
        field: 'value',
        location: { line: 12, column: 7 },
      },
    ]);
  });

  it('locates fields written under data: for later diagnostics', () => {
    const read = readDefinitionFile(
      FILE,
      yaml`
        namespace: app
        name: cfg
        kind: registry.entry
        data:
          limits:
            daily: 10
      `,
    );
    expect(read.definitions[0]?.origin?.locate(['limits', 'daily'], 'value')).toEqual({
      file: FILE,
      line: 6,
      column: 12,
    });
    expect(read.definitions[0]?.origin?.locate(['kind'], 'value')).toEqual({
      file: FILE,
      line: 3,
      column: 7,
    });
  });

  it('reports entries that are not mappings or lack name or kind', () => {
    const read = readDefinitionFile(
      FILE,
      yaml`
        namespace: app
        entries:
          - just a string
          - name: nokind
          - kind: process.host
          - name: fine
            kind: process.host
      `,
    );
    expect(read.definitions.map((d) => d.name)).toEqual(['fine']);
    expect(read.diagnostics.map((d) => [d.code, d.location?.line, d.message])).toEqual([
      ['wrong-type', 3, 'entries[0] must be a mapping with name and kind'],
      ['missing-field', 4, 'app:nokind has no "kind"'],
      ['missing-field', 5, 'an entry in namespace "app" has no "name"'],
    ]);
  });

  it('reports an entries field that is not a list and a meta that is not a mapping', () => {
    expect(
      readDefinitionFile(FILE, 'namespace: app\nentries: {a: 1}\n').diagnostics.map((d) => d.code),
    ).toEqual(['wrong-type']);
    const read = readDefinitionFile(
      FILE,
      'namespace: app\nname: x\nkind: process.host\nmeta: [1]\n',
    );
    expect(read.diagnostics.map((d) => [d.code, d.field])).toEqual([['wrong-type', 'meta']]);
  });

  it('skips documents that are not definitions, saying why', () => {
    expect(readDefinitionFile(FILE, '- a\n- b\n')).toMatchObject({
      definitions: [],
      skipped: 'the top level is not a mapping with namespace and entries',
    });
    expect(readDefinitionFile(FILE, '')).toMatchObject({ skipped: 'empty file' });
    expect(readDefinitionFile(FILE, '# nothing\n')).toMatchObject({ skipped: 'empty file' });
    expect(readDefinitionFile(FILE, '---\n---\n')).toMatchObject({
      skipped: 'empty document; empty document',
    });
  });

  it('rejects an invalid namespace and duplicate keys', () => {
    expect(
      readDefinitionFile(FILE, 'namespace: "bad ns"\nentries: []\n').diagnostics.map((d) => d.code),
    ).toEqual(['invalid-name']);
    const duplicate = readDefinitionFile(FILE, 'namespace: app\nname: a\nname: b\nkind: x\n');
    expect(duplicate.diagnostics.map((d) => [d.code, d.location?.line])).toEqual([
      ['yaml-syntax', 3],
    ]);
  });

  it('follows anchors and merge keys', () => {
    const read = readDefinitionFile(
      FILE,
      yaml`
        namespace: app
        entries:
          - &base
            name: one
            kind: process.host
            lifecycle: { auto_start: true }
          - <<: *base
            name: two
      `,
    );
    expect(read.diagnostics).toEqual([]);
    expect(read.definitions.map((d) => [d.name, d.fields])).toEqual([
      ['one', { lifecycle: { auto_start: true } }],
      ['two', { lifecycle: { auto_start: true } }],
    ]);
  });

  it('points an unclosed quote at where the string began, not at the end of the file', () => {
    const read = readDefinitionFile(
      FILE,
      'namespace: app\nentries:\n  - name: a\n    kind: function.lua\n    source: "return {}\n  - name: b\n    kind: x\n',
    );
    expect(read.diagnostics.map((d) => [d.code, d.location?.line, d.location?.column])).toEqual([
      ['yaml-syntax', 5, 13],
    ]);
  });
});
