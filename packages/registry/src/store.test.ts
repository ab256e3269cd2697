import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EntryId } from '@luact/core';
import { describe, expect, it } from 'vitest';
import type { EntryDefinition } from './definition.js';
import { loadApplication, reloadApplication } from './loader.js';
import { RegistrySnapshot } from './snapshot.js';
import { Registry, type RegistryEvent } from './store.js';
import { appDir, yaml } from './testing/app-dir.js';

const host: EntryDefinition = {
  namespace: 'app',
  name: 'processes',
  kind: 'process.host',
  fields: {},
};
const worker = (source = 'return {}'): EntryDefinition => ({
  namespace: 'app',
  name: 'worker',
  kind: 'process.lua',
  fields: { source },
});
const service: EntryDefinition = {
  namespace: 'app',
  name: 'svc',
  kind: 'process.service',
  fields: { process: 'worker', host: 'processes' },
};

function seeded(): Registry {
  const registry = new Registry();
  const applied = registry.apply(
    [host, worker(), service].map((definition) => ({ op: 'create', definition })),
  );
  expect(applied.ok).toBe(true);
  return registry;
}

describe('Registry change sets', () => {
  it('commits a valid change set as one new version and tells subscribers what changed', () => {
    const registry = seeded();
    const events: RegistryEvent[] = [];
    registry.subscribe((event) => events.push(event));
    const applied = registry.apply([
      { op: 'update', definition: worker('return { main = print }') },
    ]);
    expect(applied.ok).toBe(true);
    expect(registry.snapshot.version).toBe(2);
    expect(events).toHaveLength(1);
    expect(events[0]?.previousVersion).toBe(1);
    expect(
      events[0]?.changes.map((change) => [change.type, 'entry' in change ? change.entry.id : '']),
    ).toEqual([['updated', 'app:worker']]);
    expect(registry.snapshot.get('app:worker')?.revision).toBe(2);
    expect(registry.snapshot.get('app:processes')?.revision).toBe(1);
  });

  it('applies nothing when any part of the change set is invalid', () => {
    const registry = seeded();
    const before = registry.snapshot;
    let notified = false;
    registry.subscribe(() => {
      notified = true;
    });
    const applied = registry.apply([
      { op: 'update', definition: worker('return { main = print }') },
      {
        op: 'create',
        definition: {
          namespace: 'app',
          name: 'broken',
          kind: 'process.service',
          fields: { host: 'processes' },
        },
      },
    ]);
    expect(applied.ok).toBe(false);
    expect(!applied.ok && applied.error.map((d) => d.code)).toEqual(['missing-field']);
    expect(registry.snapshot).toBe(before);
    expect(registry.snapshot.get('app:worker')?.fields.source).toBe('return {}');
    expect(notified).toBe(false);
  });

  it('refuses to delete an entry that others still reference', () => {
    const registry = seeded();
    const applied = registry.apply([{ op: 'delete', id: 'app:worker' as EntryId }]);
    expect(!applied.ok && applied.error.map((d) => [d.code, d.entry, d.field])).toEqual([
      ['dangling-reference', 'app:svc', 'process'],
    ]);
    const together = registry.apply([
      { op: 'delete', id: 'app:worker' as EntryId },
      { op: 'delete', id: 'app:svc' as EntryId },
    ]);
    expect(together.ok).toBe(true);
    expect(registry.snapshot.has('app:worker')).toBe(false);
  });

  it('rejects creating an existing ID and updating or deleting a missing one', () => {
    const registry = seeded();
    const applied = registry.apply([
      { op: 'create', definition: host },
      { op: 'update', definition: { ...host, name: 'ghost' } },
      { op: 'delete', id: 'app:nobody' as EntryId },
    ]);
    expect(!applied.ok && applied.error.map((d) => d.code).sort()).toEqual([
      'duplicate-id',
      'entry-not-found',
      'entry-not-found',
    ]);
  });

  it('treats an update with identical content as no change', () => {
    const registry = seeded();
    const applied = registry.apply([{ op: 'update', definition: worker() }]);
    expect(applied.ok && applied.value.changes).toEqual([]);
    expect(registry.snapshot.version).toBe(1);
  });

  it('leaves snapshots that were handed out unchanged', () => {
    const registry = seeded();
    const old = registry.snapshot;
    registry.apply([{ op: 'update', definition: worker('return { v = 2 }') }]);
    expect(old.get('app:worker')?.fields.source).toBe('return {}');
    expect(registry.snapshot.get('app:worker')?.fields.source).toBe('return { v = 2 }');
  });

  it('reports a listener that throws without undoing the change or skipping other listeners', () => {
    const errors: unknown[] = [];
    const registry = new Registry(RegistrySnapshot.empty(), {
      onListenerError: (error) => errors.push(error),
    });
    let second = 0;
    registry.subscribe(() => {
      throw new Error('listener broke');
    });
    registry.subscribe(() => second++);
    expect(registry.apply([{ op: 'create', definition: host }]).ok).toBe(true);
    expect(second).toBe(1);
    expect(errors).toHaveLength(1);
    expect(registry.snapshot.has('app:processes')).toBe(true);
  });
});

describe('Registry versions', () => {
  const setting = (value: string): EntryDefinition => ({
    namespace: 'app',
    name: 'setting',
    kind: 'registry.entry',
    fields: { value },
  });

  it('keeps each version, and going back makes an old one current and tells what changed', () => {
    const registry = seeded();
    registry.apply([{ op: 'create', definition: setting('a') }]);
    const events: RegistryEvent[] = [];
    registry.subscribe((event) => events.push(event));
    const back = registry.applyVersion(1);
    expect(back.ok && back.value.map((change) => change.type)).toEqual(['deleted']);
    expect(registry.snapshot).toBe(registry.history.snapshotAt(1));
    expect(events.map((event) => [event.previousVersion, event.version])).toEqual([[2, 1]]);

    const forward = registry.applyVersion(2);
    expect(forward.ok).toBe(true);
    expect(registry.snapshot.get('app:setting')?.fields.value).toBe('a');
    // Going to the version that is current changes nothing and tells nobody.
    expect(registry.applyVersion(2).ok && events).toHaveLength(2);
  });

  it('numbers a change set made after going back past every version, as a branch', () => {
    const registry = seeded();
    registry.apply([{ op: 'create', definition: setting('a') }]);
    registry.applyVersion(1);
    registry.apply([{ op: 'create', definition: setting('b') }]);
    expect(registry.snapshot.version).toBe(3);
    expect(registry.snapshot.get('app:setting')?.revision).toBe(3);
    expect(registry.history.versions()).toEqual([0, 1, 2, 3]);
    expect(registry.history.previousOf(3)).toBe(1);
    expect(registry.history.previousOf(2)).toBe(1);
    expect(registry.history.nextOf(1)).toBe(3);
    expect(registry.history.nextOf(3)).toBeUndefined();
  });

  it('forgets the oldest versions past its limit, never the current one', () => {
    const registry = new Registry(RegistrySnapshot.empty(), { historyLimit: 2 });
    registry.apply([{ op: 'create', definition: setting('a') }]);
    registry.apply([{ op: 'update', definition: setting('b') }]);
    registry.applyVersion(1);
    registry.apply([{ op: 'update', definition: setting('c') }]);
    expect(registry.history.versions()).toEqual([2, 3]);
    expect(registry.history.previousOf(3)).toBeUndefined();
    const gone = registry.applyVersion(1);
    expect(!gone.ok && [gone.error.kind, gone.error.message]).toEqual([
      'NOT_FOUND',
      'registry version 1 is not kept',
    ]);
    expect(registry.snapshot.version).toBe(3);
  });
});

describe('reloadApplication', () => {
  it('applies the difference between the files and the registry as one change set', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: old
            kind: library.lua
            source: "return {}"
          - name: worker
            kind: process.lua
            source: "return { v = 1 }"
      `,
    });
    const loaded = await loadApplication(dir);
    const registry = new Registry(loaded.snapshot);
    await writeFile(
      path.join(dir, 'app.yaml'),
      yaml`
        namespace: app
        entries:
          - name: processes
            kind: process.host
          - name: worker
            kind: process.lua
            source: "return { v = 2 }"
          - name: fresh
            kind: library.lua
            source: "return {}"
      `,
    );
    const reloaded = await reloadApplication(registry, dir);
    expect(reloaded.ok).toBe(true);
    const changes = reloaded.ok
      ? reloaded.plan.changes.map((c) => `${c.type} ${'entry' in c ? c.entry.id : c.previous.id}`)
      : [];
    expect(changes.sort()).toEqual(['created app:fresh', 'deleted app:old', 'updated app:worker']);
  });

  it('leaves entries made at run time in place, unless a file now defines their ID', async () => {
    const dir = await appDir({
      'app.yaml': 'namespace: app\nentries:\n  - name: processes\n    kind: process.host\n',
    });
    const registry = new Registry((await loadApplication(dir)).snapshot);
    const made = (name: string, value: string): EntryDefinition => ({
      namespace: 'app',
      name,
      kind: 'registry.entry',
      fields: { value },
    });
    registry.apply([
      { op: 'create', definition: made('runtime', 'kept') },
      { op: 'create', definition: made('taken', 'from Lua') },
    ]);
    await writeFile(
      path.join(dir, 'app.yaml'),
      'namespace: app\nentries:\n  - name: taken\n    kind: registry.entry\n    value: from the file\n',
    );
    const reloaded = await reloadApplication(registry, dir);
    expect(reloaded.ok).toBe(true);
    expect(registry.snapshot.has('app:processes')).toBe(false);
    expect(registry.snapshot.get('app:runtime')?.fields.value).toBe('kept');
    expect(registry.snapshot.get('app:taken')?.fields.value).toBe('from the file');
  });

  it('keeps the registry as it was when the edited files are invalid', async () => {
    const dir = await appDir({
      'app.yaml': 'namespace: app\nentries:\n  - name: processes\n    kind: process.host\n',
    });
    const registry = new Registry((await loadApplication(dir)).snapshot);
    await writeFile(
      path.join(dir, 'app.yaml'),
      'namespace: app\nentries:\n  - name: processes\n    kind: process.hots\n',
    );
    const reloaded = await reloadApplication(registry, dir);
    expect(!reloaded.ok && reloaded.diagnostics.map((d) => d.code)).toEqual(['unknown-kind']);
    expect(registry.snapshot.get('app:processes')?.kind).toBe('process.host');
    expect(registry.snapshot.version).toBe(1);
  });
});
