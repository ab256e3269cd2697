import { type LogRecord, type LuaApi, loadLuaApi, systemClock } from '@luact/lua';
import { ProcessSystem, processModules } from '@luact/process';
import {
  DEFAULT_HOST_LIMITS,
  type EntryDefinition,
  planChanges,
  RegistrySnapshot,
} from '@luact/registry';
import { supervisorModule } from '../lua-module.js';
import { ServiceManager } from '../service-manager.js';

let api: Promise<LuaApi> | undefined;

export const LIMITS = {
  ...DEFAULT_HOST_LIMITS,
  max_processes: 10_000,
  max_memory: 128 * 1024 * 1024,
};

/** A process that registers the name it is given and returns "stopped" on CANCEL. */
export const WORKER = `return { main = function(name)
  process.registry.register(name)
  local events = process.events()
  while true do
    local e = events:receive()
    if e.kind == process.event.CANCEL then return "stopped" end
  end
end }`;

export interface Harness {
  readonly system: ProcessSystem;
  readonly manager: ServiceManager;
  readonly logs: LogRecord[];
  close(): void;
}

/** A process system and service manager over `entries` (`"ns:name": {kind, ...fields}`). */
export async function harness(
  entries: Record<string, { kind: string } & Record<string, unknown>>,
): Promise<Harness> {
  api ??= loadLuaApi();
  const definitions: EntryDefinition[] = Object.entries(entries).map(
    ([id, { kind, ...fields }]) => {
      const [namespace = '', name = ''] = id.split(':');
      return { namespace, name, kind, fields };
    },
  );
  const planned = planChanges(
    RegistrySnapshot.empty(),
    definitions.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => `${d.entry}: ${d.message}`).join('\n'));
  const snapshot = planned.value.snapshot;
  const logs: LogRecord[] = [];
  const clock = systemClock();
  const system = new ProcessSystem({
    api: await api,
    snapshot: () => snapshot,
    env: {},
    clock,
    modules: (s) => [...processModules(s), supervisorModule(() => manager, s)],
    functionLimits: LIMITS,
  });
  for (const host of snapshot.ofKind('process.host')) system.addHost(host.id, LIMITS);
  // Lua reads the manager only once processes run, after it exists.
  const manager: ServiceManager = new ServiceManager({
    system,
    snapshot,
    env: {},
    clock,
    random: () => 0.5,
    log: (r) => logs.push(r),
  });
  return { system, manager, logs, close: () => system.close() };
}

/** The "service state" log records as "service:state" lines. */
export function transitions(logs: readonly LogRecord[]): string[] {
  return logs
    .filter((r) => r.message === 'service state')
    .map((r) => `${r.fields.service}:${r.fields.state}`);
}

/** Waits (bounded) until `check` holds. */
export async function eventually(
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
