import type { LuaState } from '../wasm/lua-api.js';
import type { LuaVm } from './lua-vm.js';

/**
 * A TypeScript function Lua calls like a C function: it reads its arguments from `L`'s stack,
 * pushes its results and returns how many. Throwing is allowed: the VM turns the exception
 * into a Lua error raised in the calling code.
 */
export type HostFunction = (L: LuaState, vm: LuaVm) => number;

/**
 * A built-in module: a Lua chunk (called with a table of its host functions and the kernel's
 * internals) that returns the module table. `global` modules are globals of every process
 * (`process`, `channel`); the others are loaded with `require(name)` when an entry lists them.
 */
export interface LuaModuleSpec {
  readonly name: string;
  readonly scope: 'global' | 'module';
  readonly source: string;
  readonly functions?: Readonly<Record<string, HostFunction>>;
}
