import { LuactError } from '@luact/core';
import type { LuaState, LuaVm } from '@luact/lua';

/**
 * Reading arguments and answering from the host functions of Lua modules. Fallible calls
 * answer their value, or `false, kind, message`, which the Lua side of a module turns into
 * `nil, err` (fallible calls return errors, they do not raise: docs/lua-api/README.md).
 */

/** The string argument at `index`, or undefined when it is not a string. */
export function luaText(L: LuaState, vm: LuaVm, index: number): string | undefined {
  return vm.stack.text(L, index);
}

/** The string argument at `index`; INVALID naming `what` when it is not a string. */
export function requiredText(L: LuaState, vm: LuaVm, index: number, what: string): string {
  const value = luaText(L, vm, index);
  if (value === undefined) throw new LuactError('INVALID', `${what} must be a string`);
  return value;
}

/** The bytes of the string argument at `index` (empty when there is none). */
export function luaBytes(L: LuaState, vm: LuaVm, index: number): Uint8Array {
  return vm.stack.bytes(L, index) ?? new Uint8Array();
}

/** Answers `false, kind, message`: the call failed with `error`. */
export function pushFailure(L: LuaState, vm: LuaVm, error: LuactError): number {
  vm.stack.pushBoolean(L, false);
  vm.stack.pushString(L, error.kind);
  vm.stack.pushString(L, error.message);
  return 3;
}

/**
 * Answers `false, kind, message, retryable`: a request of the process binding was refused
 * (process.lua and funcs.lua make the error with its retryable flag; other modules' answers
 * use a fourth value of their own, see pushFailure).
 */
export function pushRefusal(L: LuaState, vm: LuaVm, error: LuactError): number {
  pushFailure(L, vm, error);
  vm.stack.pushBoolean(L, error.retryable);
  return 4;
}

/**
 * Runs a fallible operation and answers its value (`true` when it has none), or its error —
 * returned or thrown — as `false, kind, message`.
 */
export function fallible(
  L: LuaState,
  vm: LuaVm,
  operation: () => string | true | LuactError | undefined,
): number {
  try {
    const result = operation() ?? true;
    if (result instanceof LuactError) return pushFailure(L, vm, result);
    if (result === true) vm.stack.pushBoolean(L, true);
    else vm.stack.pushString(L, result);
    return 1;
  } catch (error) {
    return pushFailure(L, vm, LuactError.from(error));
  }
}
