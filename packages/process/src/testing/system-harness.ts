import {
  type Clock,
  decodeValue,
  encodeValues,
  type LogRecord,
  type LuaApi,
  loadLuaApi,
} from '@luact/lua';
import {
  DEFAULT_HOST_LIMITS,
  type EntryDefinition,
  planChanges,
  RegistrySnapshot,
} from '@luact/registry';
import type { EventBus } from '../event-bus/bus.js';
import { processModules } from '../modules.js';
import type { ClusterNames } from '../names.js';
import type { Pid } from '../pid.js';
import { ProcessSystem, type ProcessSystemOptions } from '../system.js';
import type { ExitOutcome, Transport } from '../transport.js';

let api: Promise<LuaApi> | undefined;

export const LIMITS = DEFAULT_HOST_LIMITS;

export type EntrySpec = { kind: string } & Record<string, unknown>;

/**
 * A snapshot of the given entries (`"ns:name": {kind, meta?, ...fields}`); throws on any
 * error.
 */
export function snapshotOf(entries: Record<string, EntrySpec>): RegistrySnapshot {
  const definitions: EntryDefinition[] = Object.entries(entries).map(
    ([id, { kind, meta, ...fields }]) => {
      const [namespace = '', name = ''] = id.split(':');
      return {
        namespace,
        name,
        kind,
        fields,
        ...(meta !== undefined ? { meta: meta as Record<string, unknown> } : {}),
      };
    },
  );
  const planned = planChanges(
    RegistrySnapshot.empty(),
    definitions.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => `${d.entry}: ${d.message}`).join('\n'));
  return planned.value.snapshot;
}

export interface RunResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly kind: string; readonly message: string };
}

export interface Harness {
  readonly system: ProcessSystem;
  readonly logs: LogRecord[];
  readonly printed: string[];
  spawn(entry: string, ...args: unknown[]): Pid;
  run(entry: string, ...args: unknown[]): Promise<RunResult>;
  close(): void;
}

/** A process system over `entries`, with a host for each process.host entry among them. */
export async function harness(
  entries: Record<string, EntrySpec>,
  options: {
    clock?: Clock;
    env?: Record<string, string>;
    transport?: Transport;
    names?: ClusterNames;
    events?: EventBus;
    hostWideCount?: ProcessSystemOptions['hostWideCount'];
  } = {},
): Promise<Harness> {
  api ??= loadLuaApi();
  const snapshot = snapshotOf(entries);
  const logs: LogRecord[] = [];
  const printed: string[] = [];
  const system = new ProcessSystem({
    api: await api,
    snapshot: () => snapshot,
    env: options.env ?? {},
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.names ? { names: options.names } : {}),
    ...(options.hostWideCount ? { hostWideCount: options.hostWideCount } : {}),
    modules: (s) =>
      processModules(s, {
        log: (record) => logs.push(record),
        ...(options.events ? { events: options.events } : {}),
      }),
    print: (text) => printed.push(text),
    functionLimits: LIMITS,
  });
  for (const host of snapshot.ofKind('process.host')) {
    system.addHost(host.id, { ...LIMITS, ...((host.fields.host as object | undefined) ?? {}) });
  }
  const spawn = (entry: string, ...args: unknown[]) =>
    system.spawn({ entry, host: 'app:processes', args: encodeValues(args) });
  return {
    system,
    logs,
    printed,
    spawn,
    async run(entry, ...args) {
      const outcome: ExitOutcome = await system.waitForExit(spawn(entry, ...args));
      return outcome.ok
        ? { ok: true, value: decodeValue(outcome.value) }
        : { ok: false, error: { kind: outcome.error.kind, message: outcome.error.message } };
    },
    close: () => system.close(),
  };
}

/** A process.lua entry spec from Lua source. */
export function lua(source: string, modules: string[] = []): EntrySpec {
  return { kind: 'process.lua', source, modules };
}
