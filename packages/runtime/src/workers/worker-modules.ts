import type { LogRecord, LuaModuleSpec } from '@luact/lua';
import type { EnvBackend, EventHub, ProcessSystem } from '@luact/process';
import type { ServiceStates } from '@luact/supervisor';
import { nodeModules } from '../modules.js';
import type { RegistryBackend } from '../registry-module/module.js';
import { processConsole } from '../terminal/console.js';

/**
 * The modules of a worker thread's processes: the same as the main thread's, those whose state
 * is the node's (env, events, supervisor, registry) on backends that ask the main thread
 * (worker-services.ts). `io` answers as on any host that is not a terminal.host, which a
 * worker host never is.
 */
export function workerModules(
  system: ProcessSystem,
  log: (record: LogRecord) => void,
  onMain: {
    readonly env: EnvBackend;
    readonly events: EventHub;
    readonly services: ServiceStates;
    readonly registry: RegistryBackend;
  },
  testHooks = false,
): LuaModuleSpec[] {
  return nodeModules(system, {
    log,
    // No process of a worker owns the console: io answers "no terminal context".
    terminal: { console: processConsole(), isTerminalHost: () => false },
    env: onMain.env,
    events: onMain.events,
    services: () => onMain.services,
    registry: onMain.registry,
    ...(testHooks ? { testHooks: 'worker' as const } : {}),
  });
}
