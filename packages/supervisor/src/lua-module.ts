import { readFileSync } from 'node:fs';
import { LuactError, resolveReference, splitEntryId } from '@luact/core';
import { encodeValue, type LuaModuleSpec } from '@luact/lua';
import { Process, pushFailure } from '@luact/process';
import type { ServiceManager } from './service-manager.js';
import type { ServiceStatus } from './service-runner.js';

/** The Lua view of a service status. */
function luaStatus(status: ServiceStatus) {
  return {
    state: status.state,
    attempts: status.attempts,
    ...(status.lastError !== undefined ? { last_error: status.lastError } : {}),
    since: Math.floor(status.since / 1000),
  };
}

/**
 * The `supervisor` Lua module. `services` gives the node's service manager once it exists (the
 * module is installed in hosts before the services are built).
 */
export function supervisorModule(services: () => ServiceManager | undefined): LuaModuleSpec {
  return {
    name: 'supervisor',
    scope: 'module',
    source: readFileSync(new URL('../lua/supervisor.lua', import.meta.url), 'utf8'),
    functions: {
      status(L, vm) {
        const id = serviceId(vm.stack.text(L, 1) ?? '', vm.current?.group.owner);
        const status = services()?.status(id);
        if (!status) {
          return pushFailure(
            L,
            vm,
            new LuactError('NOT_FOUND', `no service ${id}`, { retryable: false }),
          );
        }
        vm.stack.pushBytes(L, encodeValue(luaStatus(status)));
        return 1;
      },
      list(L, vm) {
        const all: Record<string, unknown> = {};
        for (const status of services()?.list() ?? []) all[status.id] = luaStatus(status);
        vm.stack.pushBytes(L, encodeValue(all));
        return 1;
      },
    },
  };
}

/** A bare name means the service of that name in the calling process's namespace. */
function serviceId(written: string, caller: unknown): string {
  if (!(caller instanceof Process)) return written;
  const resolved = resolveReference(written, splitEntryId(caller.entry).namespace);
  return resolved.ok ? resolved.value : written;
}
