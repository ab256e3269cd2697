import { describe, expect, it } from 'vitest';
import { activateEntry } from '../activate.js';
import type { EntryDefinition } from '../definition.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Entry } from '../entry.js';
import { planChanges } from '../plan.js';
import { RegistrySnapshot } from '../snapshot.js';
import { DEFAULT_LIFECYCLE } from './lifecycle.js';

const BASE: EntryDefinition[] = [
  { namespace: 'app', name: 'processes', kind: 'process.host', fields: {} },
  { namespace: 'app', name: 'worker', kind: 'process.lua', fields: { source: 'return {}' } },
  {
    namespace: 'app',
    name: 'nats',
    kind: 'nats.connection',
    fields: { servers: 'nats://127.0.0.1:4222' },
  },
  {
    namespace: 'app',
    name: 'temporal',
    kind: 'temporal.client',
    fields: { address: 'localhost:7233' },
  },
];

/** Loads `definition` beside a few base entries and activates it with `env`. */
function activate(
  definition: Omit<EntryDefinition, 'namespace'>,
  env: Record<string, string> = {},
) {
  const planned = planChanges(
    RegistrySnapshot.empty(),
    [...BASE, { namespace: 'app', ...definition }].map((d) => ({ op: 'create', definition: d })),
  );
  if (!planned.ok) return { loadErrors: planned.error };
  const entry = planned.value.snapshot.get(`app:${definition.name}`) as Entry;
  return { entry, warnings: planned.value.warnings, activated: activateEntry(entry, env) };
}

function config(
  definition: Omit<EntryDefinition, 'namespace'>,
  env: Record<string, string> = {},
): unknown {
  const result = activate(definition, env);
  expect(result.loadErrors).toBeUndefined();
  if (!result.activated?.ok) throw new Error(JSON.stringify(result.activated?.error));
  return result.activated.value;
}

function loadErrors(
  definition: Omit<EntryDefinition, 'namespace'>,
): { code: Diagnostic['code']; field: string | undefined; message: string }[] {
  return (activate(definition).loadErrors ?? []).map(({ code, field, message }) => ({
    code,
    field,
    message,
  }));
}

describe('kind schemas', () => {
  it('derives the lifecycle defaults from the schema, as documented', () => {
    expect(DEFAULT_LIFECYCLE).toEqual({
      auto_start: false,
      start_timeout: 10_000,
      stop_timeout: 10_000,
      stable_threshold: 30_000,
      requires: [],
      restart: {
        initial_delay: 1_000,
        max_delay: 30_000,
        backoff_factor: 2,
        jitter: 0.1,
        max_attempts: 0,
      },
    });
  });

  it('fills in documented defaults for a process host', () => {
    expect(config({ name: 'h', kind: 'process.host', fields: {} })).toMatchObject({
      host: {
        max_processes: 100_000,
        max_mailbox: 10_000,
        max_mailbox_bytes: 67_108_864,
        max_message_size: 1_048_576,
        reductions: 10_000,
      },
      lifecycle: {
        auto_start: false,
        requires: [],
        restart: { initial_delay: 1_000, backoff_factor: 2 },
      },
    });
  });

  it("reads a terminal.host as Wippy writes it, with a process host's limits", () => {
    expect(
      config({
        name: 'terminal',
        kind: 'terminal.host',
        fields: { hide_logs: true, lifecycle: { auto_start: true } },
      }),
    ).toMatchObject({
      host: { max_processes: 100_000, reductions: 10_000 },
      hide_logs: true,
      lifecycle: { auto_start: true },
    });
    expect(
      loadErrors({ name: 'terminal', kind: 'terminal.host', fields: { hide_logs: 'yes' } }),
    ).toEqual([expect.objectContaining({ field: 'hide_logs' })]);
  });

  it('decodes durations and byte sizes into milliseconds and bytes', () => {
    const host = config({
      name: 'h',
      kind: 'process.host',
      fields: {
        host: { max_message_size: '64KiB' },
        lifecycle: { stop_timeout: '1m30s', restart: { initial_delay: '250ms', max_delay: '1h' } },
      },
    });
    expect(host).toMatchObject({
      host: { max_message_size: 65_536 },
      lifecycle: { stop_timeout: 90_000, restart: { initial_delay: 250, max_delay: 3_600_000 } },
    });
  });

  it('refuses mailboxes too small in bytes for a message of the largest size', () => {
    expect(
      loadErrors({
        name: 'h',
        kind: 'process.host',
        fields: { host: { max_message_size: '2MiB', max_mailbox_bytes: '1MiB' } },
      }),
    ).toEqual([
      {
        code: 'invalid-value',
        field: 'host.max_mailbox_bytes',
        message:
          'max_mailbox_bytes (1048576 bytes) must be at least max_message_size (2097152 bytes): a message of the largest size could never be delivered',
      },
    ]);
    expect(
      config({ name: 'h', kind: 'process.host', fields: { host: { max_mailbox_bytes: '1MiB' } } }),
    ).toMatchObject({ host: { max_mailbox_bytes: 1_048_576, max_message_size: 1_048_576 } });
  });

  it('runs a process host on one thread unless it sets workers, a whole number from 1', () => {
    expect(config({ name: 'h', kind: 'process.host', fields: {} })).toMatchObject({
      host: { workers: 1 },
    });
    expect(
      config({ name: 'h', kind: 'process.host', fields: { host: { workers: 4 } } }),
    ).toMatchObject({ host: { workers: 4 } });
    for (const workers of [0, -2, 1.5, 'two']) {
      const errors = activate({
        name: 'h',
        kind: 'process.host',
        fields: { host: { workers } },
      }).loadErrors;
      expect(errors).toEqual([
        expect.objectContaining({ severity: 'error', entry: 'app:h', field: 'host.workers' }),
      ]);
    }
    // Only a process host takes it: a terminal host's processes own the console.
    expect(
      activate({ name: 't', kind: 'terminal.host', fields: { host: { workers: 2 } } }).warnings,
    ).toEqual([
      expect.objectContaining({
        entry: 'app:t',
        field: 'host.workers',
        message: expect.stringContaining('unknown field "workers" is ignored'),
      }),
    ]);
  });

  it('rejects negative and malformed durations with the field that holds them', () => {
    expect(
      loadErrors({
        name: 's',
        kind: 'process.service',
        fields: {
          process: 'worker',
          host: 'processes',
          lifecycle: { start_timeout: '-5s', stop_timeout: 'soon' },
        },
      }),
    ).toEqual([
      {
        code: 'invalid-value',
        field: 'lifecycle.start_timeout',
        message: '"-5s" is negative; a duration here must be at least 0',
      },
      {
        code: 'invalid-value',
        field: 'lifecycle.stop_timeout',
        message: '"soon" is not a duration (e.g. "250ms", "5s", "1h30m")',
      },
    ]);
  });

  it('accepts depends_on as another spelling of requires, but not both', () => {
    const service = config({
      name: 's',
      kind: 'process.service',
      fields: { process: 'worker', host: 'processes', lifecycle: { depends_on: ['nats'] } },
    });
    expect(service).toMatchObject({ lifecycle: { requires: ['app:nats'] } });
    expect(
      loadErrors({
        name: 's',
        kind: 'process.service',
        fields: {
          process: 'worker',
          host: 'processes',
          lifecycle: { depends_on: ['nats'], requires: ['nats'] },
        },
      }).map((e) => e.message),
    ).toEqual(['"depends_on" and "requires" mean the same; write only one of them']);
  });

  it('reads temporal.worker as a workflow host: task_queue names the queue', () => {
    const result = activate({
      name: 'w',
      kind: 'temporal.worker',
      fields: { client: 'temporal', task_queue: 'orders', worker_options: { max_concurrent: 10 } },
    });
    expect(result.entry?.kind).toBe('workflow.host');
    expect(result.entry?.declaredKind).toBe('temporal.worker');
    expect(result.activated).toMatchObject({
      ok: true,
      value: {
        queue: 'orders',
        connection: 'app:temporal',
        journal: { fsync: 'batch', replicas: 1 },
      },
    });
  });

  it("reads a workflow host's journal retention as milliseconds, none by default", () => {
    expect(
      config({ name: 'w', kind: 'workflow.host', fields: { journal: { retention: '30d' } } }),
    ).toMatchObject({ journal: { retention: 30 * 24 * 3_600_000 } });
    expect(
      (config({ name: 'w', kind: 'workflow.host', fields: {} }) as { journal: object }).journal,
    ).not.toHaveProperty('retention');
    expect(
      loadErrors({
        name: 'w',
        kind: 'workflow.host',
        fields: { journal: { retention: 'a week' } },
      }),
    ).toEqual([
      {
        code: 'invalid-value',
        field: 'journal.retention',
        message: '"a week" is not a duration (e.g. "250ms", "5s", "1h30m")',
      },
    ]);
  });

  it('turns supervisor children into process or supervisor starts', () => {
    const supervisor = config({
      name: 'sup',
      kind: 'process.supervisor',
      fields: {
        host: 'processes',
        strategy: 'rest_for_one',
        children: [{ id: 'first', process: 'worker', restart: 'transient' }],
      },
    });
    expect(supervisor).toMatchObject({
      strategy: 'rest_for_one',
      max_restarts: 3,
      period: 5_000,
      children: [
        { id: 'first', restart: 'transient', start: { kind: 'process', entry: 'app:worker' } },
      ],
    });
  });

  it('rejects a supervisor child that is neither a process nor a supervisor, and duplicate child IDs', () => {
    expect(
      loadErrors({
        name: 'sup',
        kind: 'process.supervisor',
        fields: {
          host: 'processes',
          children: [{ id: 'a' }, { id: 'b', process: 'worker' }, { id: 'b', process: 'worker' }],
        },
      }),
    ).toEqual([
      {
        code: 'invalid-value',
        field: 'children[0]',
        message: 'child "a" needs exactly one of "process" or "supervisor"',
      },
    ]);
    expect(
      loadErrors({
        name: 'sup',
        kind: 'process.supervisor',
        fields: {
          host: 'processes',
          children: [
            { id: 'b', process: 'worker' },
            { id: 'b', process: 'worker' },
          ],
        },
      }),
    ).toEqual([
      { code: 'invalid-value', field: 'children[1].id', message: 'duplicate child ID "b"' },
    ]);
  });

  it('rejects a supervisor child that names an entry of another kind', () => {
    expect(
      loadErrors({
        name: 'sup',
        kind: 'process.supervisor',
        fields: { host: 'processes', children: [{ id: 'a', process: 'nats' }] },
      }),
    ).toEqual([
      {
        code: 'wrong-reference-kind',
        field: 'children[0].process',
        message: 'refers to "app:nats", a nats.connection entry; expected process.lua',
      },
    ]);
  });

  it('checks NATS connection auth: user and password together, one method only', () => {
    expect(
      loadErrors({
        name: 'n',
        kind: 'nats.connection',
        fields: { servers: ['nats://127.0.0.1:4222'], user: 'a', token: 't' },
      }).map((e) => e.message),
    ).toEqual([
      'user and password go together',
      'choose one way to authenticate, not user/password and token',
    ]);
    expect(
      loadErrors({
        name: 'n',
        kind: 'nats.connection',
        fields: { servers: 'nats://127.0.0.1:4222', token: 't', creds_file: '/x.creds' },
      }).map((e) => e.message),
    ).toEqual(['choose one way to authenticate, not token and creds_file']);
  });

  it('decodes NATS connection timing: seconds-scale pings and redials by default', () => {
    expect(
      config({ name: 'n', kind: 'nats.connection', fields: { servers: 'nats://127.0.0.1:4222' } }),
    ).toMatchObject({
      connect_timeout: 5_000,
      ping_interval: 5_000,
      max_ping_out: 2,
      reconnect_wait: 1_000,
    });
    expect(
      config({
        name: 'n',
        kind: 'nats.connection',
        fields: {
          servers: 'nats://127.0.0.1:4222',
          ping_interval: '2s',
          max_ping_out: 3,
          reconnect_wait: '250ms',
        },
      }),
    ).toMatchObject({ ping_interval: 2_000, max_ping_out: 3, reconnect_wait: 250 });
    expect(
      loadErrors({
        name: 'n',
        kind: 'nats.connection',
        fields: { servers: 'nats://127.0.0.1:4222', ping_interval: '0s' },
      }),
    ).toEqual([
      { code: 'invalid-value', field: 'ping_interval', message: 'must be longer than 0' },
    ]);
    expect(
      loadErrors({
        name: 'n',
        kind: 'nats.connection',
        fields: { servers: 'nats://127.0.0.1:4222', max_ping_out: 0 },
      }),
    ).toEqual([
      { code: 'invalid-value', field: 'max_ping_out', message: '0 is not an integer ≥ 1' },
    ]);
  });

  it('keeps registry.entry data free-form', () => {
    expect(
      config({
        name: 'cfg',
        kind: 'registry.entry',
        fields: { currency: 'EUR', limits: { daily: 10 } },
      }),
    ).toEqual({
      currency: 'EUR',
      limits: { daily: 10 },
    });
  });

  it('rejects Lua entries with a bad method name or an import of a non-library', () => {
    expect(
      loadErrors({
        name: 'f',
        kind: 'function.lua',
        fields: { source: 'return {}', method: 'do-it', imports: { w: 'worker' } },
      }),
    ).toEqual([
      { code: 'invalid-value', field: 'method', message: '"do-it" is not a Lua function name' },
      {
        code: 'wrong-reference-kind',
        field: 'imports.w',
        message:
          'refers to "app:worker", a process.lua entry; expected library.lua or function.lua',
      },
    ]);
  });
});
