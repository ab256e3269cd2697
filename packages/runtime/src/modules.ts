import type { LogRecord, LuaModuleSpec } from '@luact/lua';
import { type EventBus, type ProcessSystem, processModules } from '@luact/process';
import { type ServiceManager, supervisorModule } from '@luact/supervisor';
import { type RegistryAccess, registryModule } from './registry-module/module.js';
import { processConsole } from './terminal/console.js';
import { type IoModuleOptions, ioModule } from './terminal/io-module.js';
import { testHooksModule } from './workers/test-hooks.js';

export interface NodeModuleOptions {
  /** Where `logger.*` records go (default: dropped). */
  readonly log?: (record: LogRecord) => void;
  /** The node's event bus (lint's system has one of its own). */
  readonly events?: EventBus;
  /** The node's services, once they exist (lint has none). */
  readonly services?: () => ServiceManager | undefined;
  /** The console of the node's terminal hosts (lint has none: no process owns a console). */
  readonly terminal?: IoModuleOptions;
  /** The node's registry and how it applies change sets, once the node exists (lint has none). */
  readonly registry?: () => RegistryAccess | undefined;
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
    }),
    supervisorModule(options.services ?? (() => undefined)),
    ioModule(options.terminal ?? { console: processConsole(), isTerminalHost: () => false }),
    registryModule(system, options.registry ?? (() => undefined)),
    ...(options.testHooks ? [testHooksModule(options.testHooks)] : []),
  ];
}
