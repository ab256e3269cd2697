import { splitEntryId } from '@luact/core';
import { encodeValue, type HostFunction } from '@luact/lua';
import { fallible, requiredText } from '../host-call.js';
import { LiveProcessApi } from '../live-process-api.js';
import type { ProcessSystem } from '../system.js';
import { EnvVariables } from './env-variables.js';

/**
 * The host functions of the `env` module: env.variable values through their storages. Names
 * without a namespace are read in the namespace of the calling process's entry.
 */
export function envFunctions(
  system: ProcessSystem,
  cwd: string = process.cwd(),
): Record<string, HostFunction> {
  const api = new LiveProcessApi(system);
  const variables = new EnvVariables({
    snapshot: () => system.snapshot(),
    env: system.options.env,
    cwd,
  });
  const namespaceOf = (vm: Parameters<HostFunction>[1]) =>
    splitEntryId(api.actorOf(vm).entry).namespace;
  return {
    get(L, vm) {
      return fallible(L, vm, () =>
        variables.get(requiredText(L, vm, 1, 'the name'), namespaceOf(vm)),
      );
    },
    set(L, vm) {
      return fallible(L, vm, () =>
        variables.set(
          requiredText(L, vm, 1, 'the name'),
          requiredText(L, vm, 2, 'the value'),
          namespaceOf(vm),
        ),
      );
    },
    /** get_all() → msgpack of { name = value } */
    get_all(L, vm) {
      vm.stack.pushBytes(L, encodeValue(variables.all()));
      return 1;
    },
  };
}
