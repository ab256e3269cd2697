import { readFileSync } from 'node:fs';
import { LuactError, resolveReference, splitEntryId } from '@luact/core';
import type { LuaModuleSpec } from '@luact/lua';
import {
  answerLater,
  awaitLaterPrelude,
  type Later,
  Process,
  type ProcessSystem,
  settleLater,
} from '@luact/process';
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
 * What the `supervisor` module reads: the node's service manager, or on a worker thread the
 * main thread's, asked through the thread link (its answers come later).
 */
export interface ServiceStates {
  status(id: string): Later<ServiceStatus | undefined>;
  list(): Later<readonly ServiceStatus[]>;
}

/**
 * The `supervisor` Lua module. `services` gives the node's service states once they exist (the
 * module is installed in hosts before the services are built).
 */
export function supervisorModule(
  services: () => ServiceStates | undefined,
  system: ProcessSystem,
): LuaModuleSpec {
  return {
    name: 'supervisor',
    scope: 'module',
    source:
      awaitLaterPrelude() + readFileSync(new URL('../lua/supervisor.lua', import.meta.url), 'utf8'),
    functions: {
      status(L, vm) {
        const id = serviceId(vm.stack.text(L, 1) ?? '', vm.current?.group.owner);
        return answerLater(L, vm, system, () => {
          const status = services()?.status(id);
          return status instanceof Promise ? status.then((s) => found(s, id)) : found(status, id);
        });
      },
      list(L, vm) {
        return answerLater(L, vm, system, () => {
          const list = services()?.list() ?? [];
          return list instanceof Promise ? list.then(allOf) : allOf(list);
        });
      },
      settle: settleLater(system),
    },
  };
}

function found(status: ServiceStatus | undefined | LuactError, id: string) {
  if (status instanceof LuactError) return status;
  if (!status) return new LuactError('NOT_FOUND', `no service ${id}`, { retryable: false });
  return luaStatus(status);
}

function allOf(list: readonly ServiceStatus[] | LuactError) {
  if (list instanceof LuactError) return list;
  const all: Record<string, unknown> = {};
  for (const status of list) all[status.id] = luaStatus(status);
  return all;
}

/** A bare name means the service of that name in the calling process's namespace. */
function serviceId(written: string, caller: unknown): string {
  if (!(caller instanceof Process)) return written;
  const resolved = resolveReference(written, splitEntryId(caller.entry).namespace);
  return resolved.ok ? resolved.value : written;
}
