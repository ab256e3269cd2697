import type { LogRecord, LuaModuleSpec } from '@luact/lua';
import { type EnvBackend, type EventHub, type ProcessSystem, processModules } from '@luact/process';
import { type ServiceStates, supervisorModule } from '@luact/supervisor';
import { type RegistryBackend, registryModule, registryOf } from './registry-module/module.js';
import { processConsole } from './terminal/console.js';
import { type IoModuleOptions, ioModule } from './terminal/io-module.js';
import { testHooksModule } from './workers/test-hooks.js';

export interface NodeModuleOptions {
  /** Where `logger.*` records go (default: dropped). */
  readonly log?: (record: LogRecord) => void;
  /** The node's event bus (lint's system has one of its own). */
  readonly events?: EventHub;
  /** What `env` acts on (default: the system's own env variables). */
  readonly env?: EnvBackend;
  /** The node's services, once they exist (lint has none). */
  readonly services?: () => ServiceStates | undefined;
  /** The console of the node's terminal hosts (lint has none: no process owns a console). */
  readonly terminal?: IoModuleOptions;
  /** What the registry module reads and changes (lint has no registry: every call fails). */
  readonly registry?: RegistryBackend;
  /** Adds `luact_test` (a node started with test hooks), for the thread it runs on. */
  readonly testHooks?: 'main' | 'worker';
}

/** Every module a node's Lua code may `require`: the process modules, `supervisor`, `io`, `registry`. */
export function nodeModules(
  system: ProcessSystem,
  options: NodeModuleOptions = {},
): LuaModuleSpec[] {
  return [
    ...processModules(system, {
      ...(options.log ? { log: options.log } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.env ? { env: options.env } : {}),
    }),
    supervisorModule(options.services ?? (() => undefined), system),
    ioModule(options.terminal ?? { console: processConsole(), isTerminalHost: () => false }),
    registryModule(system, options.registry ?? registryOf(() => undefined)),
    ...(options.testHooks ? [testHooksModule(options.testHooks)] : []),
  ];
}
