import { describe, expect, it } from 'vitest';
import { activateEntry, checkActivation } from './activate.js';
import type { EntryDefinition } from './definition.js';
import type { Entry } from './entry.js';
import { loadApplication } from './loader.js';
import { planChanges } from './plan.js';
import { RegistrySnapshot } from './snapshot.js';
import { appDir, yaml } from './testing/app-dir.js';

function entryOf(definition: EntryDefinition): Entry {
  const planned = planChanges(RegistrySnapshot.empty(), [{ op: 'create', definition }]);
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  return planned.value.snapshot.entries()[0] as Entry;
}

const connection = (servers: string): EntryDefinition => ({
  namespace: 'app',
  name: 'nats',
  kind: 'nats.connection',
  fields: { servers, user: '${env:NATS_USER|luact}', password: '${env:NATS_PASSWORD}' },
});

describe('placeholders at activation', () => {
  it('resolves ${env:NAME} and falls back to ${env:NAME|default}', () => {
    const entry = entryOf(connection('nats://${env:NATS_HOST|127.0.0.1}:4222'));
    const activated = activateEntry(entry, { NATS_PASSWORD: 's3cret', NATS_HOST: '10.0.0.7' });
    expect(activated).toMatchObject({
      ok: true,
      value: { servers: ['nats://10.0.0.7:4222'], user: 'luact', password: 's3cret' },
    });
  });

  it('keeps placeholders unresolved in the registry itself', () => {
    expect(entryOf(connection('nats://127.0.0.1:4222')).fields.password).toBe(
      '${env:NATS_PASSWORD}',
    );
  });

  it('names the entry, the field and the variable when a variable without default is unset', () => {
    const activated = activateEntry(entryOf(connection('nats://127.0.0.1:4222')), {});
    expect(activated.ok).toBe(false);
    expect(!activated.ok && activated.error).toEqual([
      expect.objectContaining({
        code: 'env-unset',
        entry: 'app:nats',
        field: 'password',
        message:
          'environment variable NATS_PASSWORD is not set and its placeholder has no default (write ${env:NATS_PASSWORD|default})',
      }),
    ]);
  });

  it('decodes a duration that came from the environment, and rejects a bad one', () => {
    const entry = entryOf({
      namespace: 'app',
      name: 'processes',
      kind: 'process.host',
      fields: { lifecycle: { stop_timeout: '${env:STOP|5s}' } },
    });
    expect(activateEntry(entry, {})).toMatchObject({
      ok: true,
      value: { lifecycle: { stop_timeout: 5_000 } },
    });
    const bad = activateEntry(entry, { STOP: 'later' });
    expect(!bad.ok && bad.error.map((d) => [d.field, d.message])).toEqual([
      ['lifecycle.stop_timeout', '"later" is not a duration (e.g. "250ms", "5s", "1h30m")'],
    ]);
  });

  it('rejects placeholders in non-string fields and malformed placeholders at load', () => {
    const planned = planChanges(RegistrySnapshot.empty(), [
      {
        op: 'create',
        definition: {
          namespace: 'app',
          name: 'processes',
          kind: 'process.host',
          fields: { host: { max_processes: '${env:MAX}' }, note: '${env:}' },
        },
      },
    ]);
    expect(!planned.ok && planned.error.map((d) => [d.code, d.field])).toEqual([
      ['invalid-value', 'host.max_processes'],
      ['unknown-field', 'note'],
      ['bad-placeholder', 'note'],
    ]);
  });

  it('never substitutes inside Lua source', () => {
    const entry = entryOf({
      namespace: 'app',
      name: 'f',
      kind: 'function.lua',
      fields: { source: 'return { main = function() return "${env:HOME}" end }' },
    });
    expect(activateEntry(entry, { HOME: '/root' })).toMatchObject({
      ok: true,
      value: { source: 'return { main = function() return "${env:HOME}" end }' },
    });
  });

  it('reports unset variables of a whole application with file and line', async () => {
    const dir = await appDir({
      'app.yaml': yaml`
        namespace: app
        entries:
          - name: db
            kind: env.variable
            variable: DB_URL
            default: \${env:DB_FALLBACK}
      `,
    });
    const loaded = await loadApplication(dir);
    expect(loaded.diagnostics).toEqual([]);
    const problems = checkActivation(loaded.snapshot as RegistrySnapshot, {});
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'env-unset',
        entry: 'app:db',
        field: 'default',
        location: expect.objectContaining({ line: 6, column: 14 }),
      }),
    ]);
  });
});
