import { readFileSync } from 'node:fs';
import { LuactError, resolveReference, splitEntryId } from '@luact/core';
import { builtinModules, type HostFunction, type LogRecord, type LuaModuleSpec } from '@luact/lua';
import { activateEntry } from '@luact/registry';
import { EventBus } from './event-bus/bus.js';
import { eventsModule } from './event-bus/events-module.js';
import { fallible, requiredText } from './host-call.js';
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
  return luaLimitsPrelude() + readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
}

/** Every module of a process host: the Lua runtime's own, then process, funcs, ctx, env, events. */
export function processModules(
  system: ProcessSystem,
  options: {
    log?: (record: LogRecord) => void;
    /** The node's event bus (default: one of this system's own). */
    events?: EventBus;
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
    { name: 'env', scope: 'module', source: processLua('env'), functions: envFunctions(system) },
    eventsModule(options.events ?? new EventBus()),
  ];
}

// ── env ──────────────────────────────────────────────────────────────────────────────────

function envFunctions(system: ProcessSystem): Record<string, HostFunction> {
  const api = new LiveProcessApi(system);
  return {
    get(L, vm) {
      const self = api.actorOf(vm);
      return fallible(L, vm, () => {
        const name = requiredText(L, vm, 1, 'the name');
        const id = resolveReference(name, splitEntryId(self.entry).namespace);
        if (!id.ok) return new LuactError('INVALID', id.error, { retryable: false });
        const entry = system.snapshot().get(id.value);
        if (entry?.kind !== 'env.variable') {
          return new LuactError('NOT_FOUND', `no env.variable entry ${id.value}`, {
            retryable: false,
          });
        }
        const config = activateEntry(entry, system.options.env);
        if (!config.ok)
          return new LuactError('INVALID', config.error.map((d) => d.message).join('; '), {
            retryable: false,
          });
        const value = system.options.env[config.value.variable] ?? config.value.default;
        if (value === undefined) {
          return new LuactError(
            'NOT_FOUND',
            `environment variable ${config.value.variable} (${id.value}) is not set and has no default`,
            {
              retryable: false,
            },
          );
        }
        return value;
      });
    },
  };
}
