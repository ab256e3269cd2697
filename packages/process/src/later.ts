import { LuactError } from '@luact/core';
import { encodeValue, type HostFunction, type LuaState, type LuaVm } from '@luact/lua';
import { pushFailure } from './host-call.js';
import { Process } from './process.js';
import type { ProcessSystem } from './system.js';

/**
 * What a module's backend answers: at once, or later (a backend on a worker thread asks the
 * node's main thread). A LuactError is the call's failure, returned or thrown.
 */
export type Later<T> = T | LuactError | Promise<T>;

/**
 * Answers a host call whose value may come later. At once: the value (a string, bytes, or
 * `true`), or `false, kind, message`. Later: an integer token the module's Lua waits on with
 * `host.settle` (see awaitLaterPrelude), which then gives the value or the failure. `encode`
 * turns a value that is not a string or `true` into msgpack bytes.
 */
export function answerLater<T>(
  L: LuaState,
  vm: LuaVm,
  system: ProcessSystem,
  operation: () => Later<T>,
  encode: (value: T) => string | true | Uint8Array = plain,
): number {
  let answer: Later<T>;
  try {
    answer = operation();
  } catch (error) {
    return pushFailure(L, vm, LuactError.from(error));
  }
  if (answer instanceof LuactError) return pushFailure(L, vm, answer);
  if (!(answer instanceof Promise)) return pushValue(L, vm, encode(answer));
  const owner = vm.current?.group.owner;
  if (!(owner instanceof Process))
    return pushFailure(L, vm, new LuactError('INTERNAL', 'a later answer needs a process'));
  const settled = answer.then((value) => {
    if (value instanceof LuactError) throw value;
    return encode(value);
  });
  vm.stack.pushInteger(L, system.pending.begin(owner, settled));
  return 1;
}

/** The `settle(token)` host function of a module whose calls may answer later. */
export function settleLater(system: ProcessSystem): HostFunction {
  return (L, vm) => {
    const fiber = vm.current;
    if (fiber === undefined) throw new Error('settle outside a process');
    const settled = system.pending.take(vm.stack.integer(L, 1), fiber);
    if (settled === undefined) return 0;
    if (!settled.ok) return pushFailure(L, vm, settled.error);
    return pushValue(L, vm, settled.value);
  };
}

/**
 * Lua put ahead of a module's source (on its first line, so line numbers stay) that defines
 * `settled(first, kind, message)`: the answer of a host call as it is, or — when the call
 * answered an integer token — the answer it stands for, once it came (the fiber blocks).
 */
export function awaitLaterPrelude(): string {
  return (
    'local settled; do local later_host, later_rt = ...; local math_type, block, setmetatable = math.type, later_rt.block, setmetatable; ' +
    "local WAIT = { __index = function(wait, key) if key ~= 'done' then return nil end; local value, kind, message = later_host.settle(wait.token); if value == nil then return false end; wait.value, wait.kind, wait.message = value, kind, message; return true end }; " +
    "settled = function(first, kind, message) if math_type(first) ~= 'integer' then return first, kind, message end; local wait = setmetatable({ token = first }, WAIT); block(wait, nil); return wait.value, wait.kind, wait.message end end; "
  );
}

function pushValue(L: LuaState, vm: LuaVm, value: string | true | Uint8Array): number {
  if (value === true) vm.stack.pushBoolean(L, true);
  else if (typeof value === 'string') vm.stack.pushString(L, value);
  else vm.stack.pushBytes(L, value);
  return 1;
}

function plain<T>(value: T): string | true | Uint8Array {
  if (value === true || typeof value === 'string' || value instanceof Uint8Array)
    return value as string | true | Uint8Array;
  return encodeValue(value);
}
