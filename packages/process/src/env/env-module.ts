import { splitEntryId } from '@luact/core';
import type { HostFunction } from '@luact/lua';
import { requiredText } from '../host-call.js';
import { answerLater, type Later, settleLater } from '../later.js';
import { LiveProcessApi } from '../live-process-api.js';
import type { ProcessSystem } from '../system.js';
import { EnvVariables } from './env-variables.js';

/**
 * What the `env` module acts on: the node's env.variable entries and their storages
 * (EnvVariables), or, on a worker thread, the main thread's, asked through the thread link
 * (its answers come later).
 */
export interface EnvBackend {
  get(name: string, namespace: string): Later<string>;
  set(name: string, value: string, namespace: string): Later<true>;
  all(): Later<Record<string, string>>;
}

/**
 * The host functions of the `env` module: env.variable values through their storages (the
 * system's own EnvVariables unless a backend is given). Names without a namespace are read in
 * the namespace of the calling process's entry.
 */
export function envFunctions(
  system: ProcessSystem,
  backend: EnvBackend = envVariablesOf(system),
): Record<string, HostFunction> {
  const api = new LiveProcessApi(system);
  const namespaceOf = (vm: Parameters<HostFunction>[1]) =>
    splitEntryId(api.actorOf(vm).entry).namespace;
  return {
    get(L, vm) {
      return answerLater(L, vm, system, () =>
        backend.get(requiredText(L, vm, 1, 'the name'), namespaceOf(vm)),
      );
    },
    set(L, vm) {
      return answerLater(L, vm, system, () =>
        backend.set(
          requiredText(L, vm, 1, 'the name'),
          requiredText(L, vm, 2, 'the value'),
          namespaceOf(vm),
        ),
      );
    },
    /** get_all() → msgpack of { name = value } */
    get_all(L, vm) {
      return answerLater(L, vm, system, () => backend.all());
    },
    settle: settleLater(system),
  };
}

/** The env variables of `system`'s registry and environment. */
export function envVariablesOf(system: ProcessSystem, cwd: string = process.cwd()): EnvVariables {
  return new EnvVariables({ snapshot: () => system.snapshot(), env: system.options.env, cwd });
}
