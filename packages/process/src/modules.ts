import { readFileSync } from 'node:fs';
import { builtinModules, type LogRecord, type LuaModuleSpec } from '@luact/lua';
import { type EnvBackend, envFunctions } from './env/env-module.js';
import { EventBus, type EventHub } from './event-bus/bus.js';
import { eventsModule } from './event-bus/events-module.js';
import { awaitLaterPrelude } from './later.js';
import { LiveProcessApi } from './live-process-api.js';
import { processBinding } from './process-binding.js';
import type { ProcessSystem } from './system.js';
import { boundedOutput, luaLimitsPrelude } from './value-limits.js';

/**
 * The Lua side of a process module (`process`, `funcs`, `ctx`, `env`), for hosts that bring
 * their own host functions (workflow hosts). It starts with the value limits as the local
 * `LIMITS`, on the file's first line.
 */
export function processLua(name: 'process' | 'funcs' | 'ctx' | 'env'): string {
  const later = name === 'env' ? awaitLaterPrelude() : '';
  return (
    luaLimitsPrelude() +
    later +
    readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8')
  );
}

/** Every module of a process host: the Lua runtime's own, then process, funcs, ctx, env, events. */
export function processModules(
  system: ProcessSystem,
  options: {
    log?: (record: LogRecord) => void;
    /** The node's event bus (default: one of this system's own). */
    events?: EventHub;
    /** What `env` acts on (default: the system's env variables). */
    env?: EnvBackend;
  } = {},
): LuaModuleSpec[] {
  const { log } = options;
  const binding = processBinding(new LiveProcessApi(system));
  return [
    ...builtinModules(
      log ? { log: (record) => log({ ...record, message: boundedOutput(record.message) }) } : {},
    ),
    { name: 'process', scope: 'global', source: processLua('process'), functions: binding.process },
    { name: 'funcs', scope: 'module', source: processLua('funcs'), functions: binding.funcs },
    { name: 'ctx', scope: 'module', source: processLua('ctx'), functions: binding.ctx },
    {
      name: 'env',
      scope: 'module',
      source: processLua('env'),
      functions: envFunctions(system, options.env),
    },
    eventsModule(options.events ?? new EventBus(), system),
  ];
}
