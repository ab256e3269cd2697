import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic } from './diagnostics.js';
import { loadApplication } from './loader.js';
import { appDir, yaml } from './testing/app-dir.js';

const HOST = yaml`
  namespace: app
  entries:
    - name: processes
      kind: process.host
`;

function only(diagnostics: readonly Diagnostic[], code: Diagnostic['code']): Diagnostic {
  const matching = diagnostics.filter((d) => d.code === code);
  expect(matching, JSON.stringify(diagnostics, null, 2)).toHaveLength(1);
  return matching[0] as Diagnostic;
}

describe('loadApplication', () => {
  it('loads entries from every YAML file, inline fields and data: alike', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        version: "1.0"
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: worker
            kind: process.lua
            source: file://worker.lua
            modules: [time]
      `,
      'worker.lua': 'return { main = function() end }\n',
      'nested/svc.yml': yaml`
        namespace: app.jobs
        name: worker
        kind: process.service
        data:
          process: app:worker
          host: app:processes
          lifecycle:
            auto_start: true
      `,
    });
    const loaded = await loadApplication(dir);
    expect(loaded.diagnostics).toEqual([]);
    const ids = loaded.snapshot?.entries().map((entry) => entry.id);
    expect(ids).toEqual(['app.jobs:worker', 'app:processes', 'app:worker']);
    const worker = loaded.snapshot?.get('app:worker');
    expect(worker?.fields.source).toBe('return { main = function() end }\n');
    expect(worker?.sourceLocation).toEqual({
      file: path.join(dir, 'worker.lua'),
      line: 1,
      column: 1,
    });
    expect(loaded.snapshot?.get('app.jobs:worker')?.fields).toMatchObject({
      process: 'app:worker',
    });
  });

  it('records where inline Lua source starts, for error messages', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: hello
            kind: function.lua
            source: |
              return { main = function() return 1 end }
      `,
    });
    const loaded = await loadApplication(dir);
    // The column of the block's indentation: a place in the Lua text maps to one in the file.
    expect(loaded.snapshot?.get('app:hello')?.sourceLocation).toEqual({
      file: path.join(dir, 'app.yaml'),
      line: 6,
      column: 7,
    });
  });

  it('reports malformed YAML with its line and still reads the other files', async () => {
    const dir = await appDir({
      'bad.yaml': 'namespace: app\nentries:\n  - name: x\n    kind: [unclosed\n',
      'good.yaml': HOST,
    });
    const loaded = await loadApplication(dir);
    const syntax = only(loaded.diagnostics, 'yaml-syntax');
    expect(syntax.location?.file).toBe(path.join(dir, 'bad.yaml'));
    expect(syntax.location?.line).toBeGreaterThanOrEqual(4);
    expect(loaded.snapshot).toBeUndefined();
    expect(loaded.files).toHaveLength(2);
  });

  it('skips a file without namespace with a warning that names it', async () => {
    const dir = await appDir({
      'app.yaml': HOST,
      'compose.yaml': 'services:\n  db:\n    image: postgres\n',
    });
    const loaded = await loadApplication(dir);
    expect(loaded.snapshot?.size).toBe(1);
    const warning = only(loaded.diagnostics, 'missing-namespace');
    expect(warning.severity).toBe('warning');
    expect(warning.location?.file).toBe(path.join(dir, 'compose.yaml'));
    expect(loaded.skipped).toEqual([
      { file: path.join(dir, 'compose.yaml'), reason: 'no top-level "namespace"' },
    ]);
  });

  it('reports an entry ID defined in two files with both places', async () => {
    const dir = await appDir({ 'a.yaml': HOST, 'b.yaml': `\n\n${HOST}` });
    const loaded = await loadApplication(dir);
    const duplicate = only(loaded.diagnostics, 'duplicate-id');
    expect(duplicate.entry).toBe('app:processes');
    expect(duplicate.location).toMatchObject({ file: path.join(dir, 'b.yaml'), line: 5 });
    expect(duplicate.related).toEqual({
      label: 'first defined at',
      location: { file: path.join(dir, 'a.yaml'), line: 3, column: 5 },
    });
    expect(formatDiagnostic(duplicate, dir)).toBe(
      'b.yaml:5:11: error: app:processes › name: entry "app:processes" is defined more than once (first defined at a.yaml:3:5) [duplicate-id]',
    );
  });

  it('rejects an unknown kind and suggests the closest one', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: worker
            kind: proces.lua
            source: "return {}"
      `,
    });
    const error = only((await loadApplication(dir)).diagnostics, 'unknown-kind');
    expect(error.message).toBe('unknown kind "proces.lua" (did you mean "process.lua"?)');
    expect(error).toMatchObject({
      entry: 'app:worker',
      field: 'kind',
      location: { line: 4, column: 11 },
    });
  });

  it('names the entry, field and line of a missing required field and of a wrong type', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
            host:
              max_processes: lots
          - name: svc
            kind: process.service
            host: processes
      `,
    });
    const { diagnostics } = await loadApplication(dir);
    expect(only(diagnostics, 'wrong-type')).toMatchObject({
      entry: 'app:processes',
      field: 'host.max_processes',
      message: 'expected an integer ≥ 1, got the string "lots"',
      location: { line: 6, column: 22 },
    });
    expect(only(diagnostics, 'missing-field')).toMatchObject({
      entry: 'app:svc',
      message: 'missing required field "process" (the ID of a process.lua entry)',
      location: { line: 7 },
    });
  });

  it('warns about unknown fields without failing the load', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
            lifecycel:
              auto_start: true
      `,
    });
    const loaded = await loadApplication(dir);
    expect(loaded.snapshot).toBeDefined();
    expect(only(loaded.diagnostics, 'unknown-field')).toMatchObject({
      severity: 'warning',
      field: 'lifecycel',
      message: 'unknown field "lifecycel" is ignored (did you mean "lifecycle"?)',
      location: { line: 5, column: 5 },
    });
  });

  it('reports a file:// source that does not exist', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: worker
            kind: process.lua
            source: file://missing.lua
      `,
    });
    const error = only((await loadApplication(dir)).diagnostics, 'source-not-found');
    expect(error).toMatchObject({
      entry: 'app:worker',
      field: 'source',
      location: { line: 5, column: 13 },
    });
    expect(error.message).toContain('"missing.lua" not found');
  });

  it('refuses a file:// source outside the application directory, also through a link', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: escape
            kind: library.lua
            source: file://../secret.lua
          - name: linked
            kind: library.lua
            source: file://link.lua
      `,
    });
    await writeFile(path.join(dir, '..', 'secret.lua'), 'return {}');
    await symlink(path.join(dir, '..', 'secret.lua'), path.join(dir, 'link.lua'));
    const errors = (await loadApplication(dir)).diagnostics.filter(
      (d) => d.code === 'source-outside-app',
    );
    expect(errors.map((d) => d.entry)).toEqual(['app:escape', 'app:linked']);
    expect(errors[1]?.message).toContain('links to');
  });

  it('reports a reference to a missing entry with a suggestion', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: worker
            kind: process.lua
            source: "return {}"
          - name: svc
            kind: process.service
            process: wroker
            host: processes
      `,
    });
    const error = only((await loadApplication(dir)).diagnostics, 'dangling-reference');
    expect(error).toMatchObject({
      entry: 'app:svc',
      field: 'process',
      location: { line: 10, column: 14 },
    });
    expect(error.message).toBe(
      'refers to "app:wroker", which does not exist (did you mean "app:worker"?)',
    );
  });

  it('reports a reference to an entry of the wrong kind', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: svc
            kind: process.service
            process: processes
            host: processes
      `,
    });
    const error = only((await loadApplication(dir)).diagnostics, 'wrong-reference-kind');
    expect(error.message).toBe(
      'refers to "app:processes", a process.host entry; expected process.lua',
    );
  });

  it('reports a dependency cycle with its path', async () => {
    const dir = await appDir({
      'libs.yaml': yaml`
        namespace: lib
        entries:
          - name: a
            kind: library.lua
            source: "return {}"
            imports: { b: b }
          - name: b
            kind: library.lua
            source: "return {}"
            imports: { c: c }
          - name: c
            kind: library.lua
            source: "return {}"
            imports: { a: lib:a }
      `,
    });
    const error = only((await loadApplication(dir)).diagnostics, 'dependency-cycle');
    expect(error.message).toBe('dependency cycle: lib:a → lib:b → lib:c → lib:a');
    expect(error).toMatchObject({
      entry: 'lib:a',
      field: 'imports.b',
      location: { line: 6, column: 19 },
    });
  });

  it('rejects services that require each other, naming the cycle, and a service on no host', async () => {
    const dir = await appDir({
      'services.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: worker
            kind: process.lua
            source: "return {}"
          - name: api
            kind: process.service
            process: worker
            host: processes
            lifecycle: { requires: [db] }
          - name: db
            kind: process.service
            process: worker
            host: processes
            lifecycle: { depends_on: [api] }
          - name: lost
            kind: process.service
            process: worker
            host: procesess
      `,
    });
    const { diagnostics, snapshot } = await loadApplication(dir);
    expect(snapshot).toBeUndefined();
    expect(only(diagnostics, 'dependency-cycle')).toMatchObject({
      message: 'dependency cycle: app:api → app:db → app:api',
      entry: 'app:api',
      field: 'lifecycle.requires[0]',
    });
    expect(only(diagnostics, 'dangling-reference')).toMatchObject({
      entry: 'app:lost',
      field: 'host',
      message: 'refers to "app:procesess", which does not exist (did you mean "app:processes"?)',
      location: { line: 21, column: 11 },
    });
  });

  it('reports an empty directory and a missing one', async () => {
    const empty = await appDir({});
    expect(only((await loadApplication(empty)).diagnostics, 'empty-application').message).toContain(
      'no *.yaml or *.yml files',
    );
    const missing = path.join(empty, 'nope');
    expect(only((await loadApplication(missing)).diagnostics, 'unreadable').message).toContain(
      'does not exist',
    );
  });

  it('reports a directory whose YAML files declare no entries', async () => {
    const dir = await appDir({ 'notes.yaml': 'title: nothing here\n' });
    const loaded = await loadApplication(dir);
    expect(only(loaded.diagnostics, 'empty-application').message).toContain('no entries');
  });

  it('reads several documents of one file and ignores hidden directories', async () => {
    const dir = await appDir({
      'app.yaml': `${HOST}---\nnamespace: other\nname: processes\nkind: process.host\n`,
      '.luact/state.yaml': 'namespace: app\nentries: [{name: hidden, kind: nonsense}]\n',
    });
    await mkdir(path.join(dir, 'node_modules'));
    const loaded = await loadApplication(dir);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.snapshot?.entries().map((entry) => entry.id)).toEqual([
      'app:processes',
      'other:processes',
    ]);
  });

  it('collects problems of every kind in one pass instead of stopping at the first', async () => {
    const dir = await appDir({
      'a.yaml': yaml`
        namespace: app
        entries:
          - name: one
            kind: nope.lua
          - name: two
            kind: process.host
            host: { max_mailbox: -1 }
      `,
      'b.yaml': yaml`
        namespace: app
        entries:
          - name: three
            kind: process.service
            process: four
            host: two
      `,
    });
    const codes = (await loadApplication(dir)).diagnostics.map((d) => d.code);
    expect(codes).toEqual(['unknown-kind', 'invalid-value', 'dangling-reference']);
  });

  it("reports recursive aliases and alias bombs by file and line, and every other file's problems too", async () => {
    let bomb = 'namespace: bomb\nentries: []\nl0: &l0 [a, a, a, a, a, a, a, a, a]\n';
    for (let i = 1; i < 12; i++)
      bomb += `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]\n`;
    const dir = await appDir({
      'bomb.yaml': bomb,
      'loop.yaml': yaml`
        namespace: loop
        entries:
          - &me
            name: me
            kind: registry.entry
            <<: *me
      `,
      'other.yaml': yaml`
        namespace: other
        entries:
          - name: typo
            kind: proces.lua
      `,
    });
    const loaded = await loadApplication(dir);
    expect(loaded.snapshot).toBeUndefined();
    expect(
      loaded.diagnostics.map((d) => [
        path.basename(d.location?.file ?? ''),
        d.location?.line,
        d.code,
        d.message.split(':')[0],
      ]),
    ).toEqual([
      [
        'bomb.yaml',
        14,
        'yaml-alias',
        'too many alias expansions (357,449,881,986 nodes, limit 100,000)',
      ],
      ['loop.yaml', 6, 'yaml-alias', 'alias *me refers to itself'],
      ['other.yaml', 4, 'unknown-kind', 'unknown kind "proces.lua" (did you mean "process.lua"?)'],
    ]);
  });
});
