import { describe, expect, it } from 'vitest';
import { activateEntry } from '../activate.js';
import type { Diagnostic } from '../diagnostics.js';
import type { EntryOf } from '../entry.js';
import { loadApplication } from '../loader.js';
import { appDir, yaml } from '../testing/app-dir.js';

// The env storage kinds and env.variable as YAML declares them: what loads, and each bad input
// named at its entry, field and line.

async function load(entries: string) {
  const dir = await appDir({ 'app.yaml': `namespace: app\nentries:\n${entries}` });
  return loadApplication(dir);
}

function errors(diagnostics: readonly Diagnostic[]) {
  return diagnostics
    .filter((d) => d.severity === 'error')
    .map(({ code, entry, field, message, location }) => ({
      code,
      entry,
      field,
      message,
      line: location?.line,
    }));
}

describe('env storage and variable entries', () => {
  it('load with Wippy’s fields: storages of each kind, variables bound to them', async () => {
    const loaded = await load(yaml`
      - { name: memory, kind: env.storage.memory }
      - { name: os, kind: env.storage.os }
      - name: file
        kind: env.storage.file
        file_path: ./config.env
        auto_create: true
        file_mode: 0600
      - { name: static, kind: env.storage.static, values: { REGION: eu } }
      - { name: router, kind: env.storage.router, storages: [memory, app:file, os] }
      - { name: port, kind: env.variable, variable: PORT, storage: router, default: "8080" }
      - { name: version, kind: env.variable, variable: APP_VERSION, storage: file, read_only: true }
      - { name: token, kind: env.variable, storage: memory, readonly: true }
    `);
    expect(errors(loaded.diagnostics)).toEqual([]);
    const snapshot = loaded.snapshot;
    if (!snapshot) throw new Error('not loaded');
    const config = (id: string) => {
      const activated = activateEntry(snapshot.get(id) as EntryOf<'env.variable'>, {});
      if (!activated.ok) throw new Error(activated.error[0]?.message);
      return activated.value;
    };
    expect(config('app:file')).toEqual({
      file_path: './config.env',
      auto_create: true,
      file_mode: 0o600,
      dir_mode: 0o755,
    });
    expect(config('app:router')).toEqual({ storages: ['app:memory', 'app:file', 'app:os'] });
    expect(config('app:version')).toEqual({
      variable: 'APP_VERSION',
      storage: 'app:file',
      readonly: true,
    });
    expect(config('app:token')).toEqual({ storage: 'app:memory', readonly: true });
  });

  it('an unknown storage ID is an error naming the variable, its field and line', async () => {
    const loaded = await load(yaml`
      - { name: memory, kind: env.storage.memory }
      - name: port
        kind: env.variable
        variable: PORT
        storage: app:memroy
    `);
    expect(errors(loaded.diagnostics)).toEqual([
      {
        code: 'dangling-reference',
        entry: 'app:port',
        field: 'storage',
        line: 7,
        message: 'refers to "app:memroy", which does not exist (did you mean "app:memory"?)',
      },
    ]);
  });

  it('a storage reference must name a storage, and a router needs at least one', async () => {
    const loaded = await load(yaml`
      - { name: memory, kind: env.storage.memory }
      - { name: other, kind: env.variable, variable: OTHER, storage: memory }
      - { name: port, kind: env.variable, variable: PORT, storage: other }
      - { name: empty, kind: env.storage.router, storages: [] }
    `);
    expect(errors(loaded.diagnostics)).toEqual([
      expect.objectContaining({
        code: 'wrong-reference-kind',
        entry: 'app:port',
        field: 'storage',
        message: expect.stringContaining('"app:other", a env.variable entry; expected env.storage'),
      }),
      expect.objectContaining({
        code: 'invalid-value',
        entry: 'app:empty',
        field: 'storages',
        message: 'needs at least one storage',
      }),
    ]);
  });

  it('routers that route to each other are a dependency cycle', async () => {
    const loaded = await load(yaml`
      - { name: first, kind: env.storage.router, storages: [second] }
      - { name: second, kind: env.storage.router, storages: [first] }
    `);
    expect(errors(loaded.diagnostics)).toEqual([
      expect.objectContaining({
        code: 'dependency-cycle',
        message: expect.stringMatching(/^dependency cycle: app:(first|second) → /),
      }),
    ]);
  });

  it('two variables may not share a public name', async () => {
    const loaded = await load(yaml`
      - { name: memory, kind: env.storage.memory }
      - { name: port, kind: env.variable, variable: PORT, storage: memory }
      - { name: port_again, kind: env.variable, variable: PORT }
    `);
    expect(errors(loaded.diagnostics)).toEqual([
      expect.objectContaining({
        code: 'duplicate-env-variable',
        entry: 'app:port_again',
        field: 'variable',
        line: 5,
        message: expect.stringContaining(
          'env variable name "PORT" is already the name of app:port',
        ),
      }),
    ]);
  });

  it('refuses a variable with neither name nor storage, a bad name, and a bad file mode', async () => {
    const loaded = await load(yaml`
      - { name: nothing, kind: env.variable, default: x }
      - { name: dashed, kind: env.variable, variable: MY-VAR }
      - { name: file, kind: env.storage.file, file_path: a.env, file_mode: 0644, dir_mode: 0789 }
      - { name: nopath, kind: env.storage.file }
    `);
    expect(errors(loaded.diagnostics).map((e) => [e.entry, e.field, e.message])).toEqual([
      [
        'app:nothing',
        undefined,
        'an env.variable needs "variable" (a name in the environment), "storage", or both',
      ],
      [
        'app:dashed',
        'variable',
        '"MY-VAR" is not an environment variable name (letters, digits and _)',
      ],
      [
        'app:file',
        'dir_mode',
        '789 is not permission bits as octal digits, such as 0644 or "0600"',
      ],
      ['app:nopath', undefined, 'missing required field "file_path" (a file path)'],
    ]);
  });
});
