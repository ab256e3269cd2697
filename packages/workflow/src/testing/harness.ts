import { type Journal, MemoryJournal } from '@luact/journal';
import {
  type Clock,
  decodeValue,
  encodeValues,
  type LogRecord,
  type LuaApi,
  loadLuaApi,
  systemClock,
} from '@luact/lua';
import {
  type ExitOutcome,
  type HostFunctionEntry,
  type Pid,
  ProcessSystem,
  processModules,
} from '@luact/process';
import {
  DEFAULT_HOST_LIMITS,
  type EntryDefinition,
  planChanges,
  RegistrySnapshot,
} from '@luact/registry';
import { WorkflowHost } from '../host.js';

let api: Promise<LuaApi> | undefined;

export const LIMITS = { ...DEFAULT_HOST_LIMITS, max_processes: 10_000 };

export type EntrySpec = { kind: string } & Record<string, unknown>;

/** A registry snapshot of `entries` (`"ns:name": {kind, ...fields}`); throws on any problem. */
export function snapshotOf(entries: Record<string, EntrySpec>): RegistrySnapshot {
  const definitions: EntryDefinition[] = Object.entries(entries).map(
    ([id, { kind, ...fields }]) => {
      const [namespace = '', name = ''] = id.split(':');
      const { meta, ...rest } = fields as { meta?: Record<string, unknown> };
      return { namespace, name, kind, fields: rest, ...(meta ? { meta } : {}) };
    },
  );
  const planned = planChanges(
    RegistrySnapshot.empty(),
    definitions.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => `${d.entry}: ${d.message}`).join('\n'));
  return planned.value.snapshot;
}

export interface Node {
  readonly system: ProcessSystem;
  readonly host: WorkflowHost;
  readonly journal: Journal;
  readonly logs: LogRecord[];
  readonly printed: string[];
  /** Starts workflow `entry` with `args` (as a process would) and waits for its end. */
  run(entry: string, args?: unknown[], options?: { workflow?: string }): Promise<Result>;
  start(entry: string, args?: unknown[], options?: { workflow?: string }): Promise<Pid>;
  result(pid: Pid): Promise<Result>;
  /** Runs a process.lua entry on app:processes to its end. */
  process(entry: string, ...args: unknown[]): Promise<Result>;
  /** Stops the workflow host and the processes, like a crash that loses no journal. */
  stop(): Promise<void>;
}

export type Result =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: { kind: string; message: string; retryable: boolean } };

/**
 * A process system with `app:processes`, the function host and the workflow host `app:flows`
 * over `journal` (in memory unless given): enough of a node to run workflows end to end.
 */
export async function node(
  entries: Record<string, EntrySpec>,
  options: {
    journal?: Journal;
    clock?: Clock;
    timeSkip?: boolean;
    /** TypeScript functions workflows call (registered before the host recovers). */
    functions?: Record<string, HostFunctionEntry>;
    /** The workflow host's task_timeout. */
    taskTimeoutMs?: number;
    /** The workflow host's VM limits, over the defaults. */
    limits?: Partial<typeof LIMITS>;
    /** The workflow host's journal retention (ms). */
    retentionMs?: number;
  } = {},
): Promise<Node> {
  api ??= loadLuaApi();
  const snapshot = snapshotOf({
    'app:processes': { kind: 'process.host' },
    'app:flows': { kind: 'workflow.host' },
    ...entries,
  });
  const logs: LogRecord[] = [];
  const printed: string[] = [];
  const clock = options.clock ?? systemClock();
  const journal = options.journal ?? new MemoryJournal();
  const system = new ProcessSystem({
    api: await api,
    snapshot: () => snapshot,
    env: {},
    clock,
    modules: (s) => processModules(s, { log: (record) => logs.push(record) }),
    print: (text) => printed.push(text),
    functionLimits: LIMITS,
  });
  system.addHost('app:processes', LIMITS);
  for (const [id, fn] of Object.entries(options.functions ?? {})) system.registerFunction(id, fn);
  const hosts = new Map<string, WorkflowHost>();
  const host = new WorkflowHost({
    id: 'app:flows',
    system,
    api: await api,
    limits: { ...LIMITS, ...options.limits },
    ...(options.taskTimeoutMs !== undefined ? { taskTimeoutMs: options.taskTimeoutMs } : {}),
    ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
    journal,
    snapshot: () => snapshot,
    env: {},
    clock,
    ...(options.timeSkip ? { timeSkip: true } : {}),
    log: (record) => logs.push(record),
    print: (text) => printed.push(text),
    hosts: (id) => hosts.get(id),
  });
  hosts.set(host.id, host);
  system.addExternalHost(host.id, host);
  await host.recover();
  const result = (pid: Pid) =>
    new Promise<Result>((resolve, reject) => {
      host.watch(pid, (outcome) => resolve(resultOf(outcome))).catch(reject);
    });
  const start = (entry: string, args: unknown[] = [], startOptions: { workflow?: string } = {}) =>
    host.start({
      ...(startOptions.workflow ? { workflow: startOptions.workflow } : {}),
      entry,
      args: encodeValues(args),
      context: {},
      messages: [],
      conflict: 'use_existing',
    });
  return {
    system,
    host,
    journal,
    logs,
    printed,
    start,
    result,
    async run(entry, args = [], startOptions = {}) {
      return result(await start(entry, args, startOptions));
    },
    async process(entry, ...args) {
      const pid = system.spawn({ entry, host: 'app:processes', args: encodeValues(args) });
      return resultOf(await system.waitForExit(pid));
    },
    async stop() {
      await host.stop();
      system.close();
    },
  };
}

function resultOf(outcome: ExitOutcome): Result {
  return outcome.ok
    ? { ok: true, value: decodeValue(outcome.value) }
    : {
        ok: false,
        error: {
          kind: outcome.error.kind,
          message: outcome.error.message,
          retryable: outcome.error.retryable,
        },
      };
}

/** A workflow.lua entry spec from Lua source. */
export function workflow(source: string, modules: string[] = []): EntrySpec {
  return { kind: 'workflow.lua', source, modules };
}

/** A function.lua entry spec from Lua source. */
export function fn(source: string, extra: Record<string, unknown> = {}): EntrySpec {
  return { kind: 'function.lua', source, ...extra };
}

/** Waits (bounded) until `check` holds. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
