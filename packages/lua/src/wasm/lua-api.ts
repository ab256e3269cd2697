import type { EngineLoop } from '../vm/engine-loop.js';
import type { EngineMemory } from '../vm/lua-heap.js';

/**
 * The raw Lua 5.4 C API as compiled to WebAssembly by our build (packages/lua/wasm), called directly (no cwrap, no
 * string marshalling) because every fiber switch, message and host call goes through it.
 * Pointers and `lua_State*` are plain numbers into the shared WebAssembly memory.
 */
export type LuaState = number;
export type Pointer = number;

export interface LuaApi {
  readonly HEAPU8: Uint8Array;
  readonly HEAP32: Int32Array;
  readonly HEAPU32: Uint32Array;
  readonly HEAPF64: Float64Array;
  /** What every Lua state of this engine may hold together (they share its memory). */
  readonly engineMemory: EngineMemory;
  /** What runs the scheduler slices of every VM of this engine. */
  readonly engineLoop: EngineLoop;
  _malloc(size: number): Pointer;
  _free(pointer: Pointer): void;
  _realloc(pointer: Pointer, size: number): Pointer;
  addFunction(fn: (...args: number[]) => number | undefined, signature: string): Pointer;
  removeFunction(pointer: Pointer): void;

  /** Our allocator (wasm/luact_heap.c; LuaHeap is its face): the lua_Alloc to give lua_newstate. */
  _luact_heap_allocator(): Pointer;
  /** A heap charged to the Engine record `engine`; `notify` (vii) is called on its events. */
  _luact_heap_new(
    engine: Pointer,
    hostLimit: number,
    processLimit: number,
    notify: Pointer,
  ): Pointer;
  _luact_heap_free(heap: Pointer): void;
  /** A slot for a new process, or -1 without memory for one. */
  _luact_heap_open_slot(heap: Pointer): number;
  _luact_heap_close_slot(heap: Pointer, slot: number): void;
  _luact_heap_collected(heap: Pointer): void;

  _luaL_newstate(): LuaState;
  /** A state whose memory `alloc` (a lua_Alloc in the function table) manages. */
  _lua_newstate(alloc: Pointer, ud: number): LuaState;
  _luaL_openlibs(L: LuaState): void;
  _lua_close(L: LuaState): void;
  _luaL_loadbufferx(
    L: LuaState,
    buffer: Pointer,
    size: number,
    name: Pointer,
    mode: Pointer,
  ): number;
  _luaL_ref(L: LuaState, table: number): number;
  _luaL_unref(L: LuaState, table: number, ref: number): void;
  _luaL_traceback(L: LuaState, L1: LuaState, message: Pointer, level: number): void;
  _lua_atpanic(L: LuaState, fn: Pointer): Pointer;

  _lua_newthread(L: LuaState): LuaState;
  _lua_resume(L: LuaState, from: LuaState, nargs: number, nresults: Pointer): number;
  /** `lua_resume`, with the count hook's count started afresh at `count` (our build). */
  _luact_resume(
    L: LuaState,
    from: LuaState,
    nargs: number,
    nresults: Pointer,
    count: number,
  ): number;
  _lua_status(L: LuaState): number;
  _lua_isyieldable(L: LuaState): number;
  /**
   * Whether a yield of the running thread `L` reaches the scheduler: `L` can yield, and so
   * can each coroutine that resumed it, from where it did (our build).
   */
  _luact_canyield(L: LuaState): number;
  /** The thread running Lua code: the innermost one resumed (our build). */
  _luact_running(L: LuaState): LuaState;
  /**
   * Sets the function (a function-table entry, `(L) => number`) called with the running
   * thread after every 16,384 units of work C code did without Lua instructions (our build).
   * It may raise an error in that thread.
   */
  _luact_onwork(L: LuaState, check: Pointer): void;
  _lua_yieldk(L: LuaState, nresults: number, ctx: number, k: Pointer): number;
  _lua_pcallk(
    L: LuaState,
    nargs: number,
    nresults: number,
    msgh: number,
    ctx: number,
    k: Pointer,
  ): number;
  _lua_callk(L: LuaState, nargs: number, nresults: number, ctx: number, k: Pointer): void;
  _lua_error(L: LuaState): number;
  _lua_sethook(L: LuaState, fn: Pointer, mask: number, count: number): void;
  _lua_getinfo(L: LuaState, what: Pointer, ar: Pointer): number;
  _lua_getstack(L: LuaState, level: number, ar: Pointer): number;
  /**
   * Ours (luact.patch): the count hook of `L` runs again as soon as a Lua function returns
   * to the Lua function of frame `ar` (from lua_getstack).
   */
  _luact_preemptat(L: LuaState, ar: Pointer): void;
  /** Shrinks suspended coroutine `L`'s stack to what its frames use (our build). */
  _luact_shrinkstack(L: LuaState): void;
  /** Gives back the large stack and call records of finished coroutine `L` (our build). */
  _luact_trimthread(L: LuaState): void;
  /** Marks the table at `index` as every process's: it grows at the state's charge (luact.patch). */
  _luact_sharetable(L: LuaState, index: number): void;
  /** A C function of the engine's for the kernel (KernelFunction), to push with lua_pushcclosure. */
  _luact_kernelfunction(which: number): Pointer;
  /**
   * Counts [1] and [2] of the table registry[ref][key] (a mail box) into the two doubles at
   * `out`; 0 when there is no such table (our build). `key` is an integer.
   */
  _luact_boxcounts(L: LuaState, ref: number, key: number, out: Pointer): number;

  _lua_gettop(L: LuaState): number;
  _lua_settop(L: LuaState, index: number): void;
  _lua_pushvalue(L: LuaState, index: number): void;
  _lua_rotate(L: LuaState, index: number, n: number): void;
  _lua_xmove(from: LuaState, to: LuaState, n: number): void;
  _lua_checkstack(L: LuaState, n: number): number;
  _lua_absindex(L: LuaState, index: number): number;

  _lua_type(L: LuaState, index: number): number;
  _lua_toboolean(L: LuaState, index: number): number;
  _lua_tointegerx(L: LuaState, index: number, isnum: Pointer): bigint;
  _lua_tonumberx(L: LuaState, index: number, isnum: Pointer): number;
  _lua_tolstring(L: LuaState, index: number, length: Pointer): Pointer;
  _lua_touserdata(L: LuaState, index: number): Pointer;
  _lua_tothread(L: LuaState, index: number): LuaState;
  _lua_rawequal(L: LuaState, a: number, b: number): number;
  _lua_isinteger(L: LuaState, index: number): number;

  _lua_pushnil(L: LuaState): void;
  _lua_pushboolean(L: LuaState, value: number): void;
  _lua_pushinteger(L: LuaState, value: bigint): void;
  _lua_pushnumber(L: LuaState, value: number): void;
  _lua_pushlstring(L: LuaState, bytes: Pointer, length: number): Pointer;
  _lua_pushcclosure(L: LuaState, fn: Pointer, upvalues: number): void;
  _lua_pushlightuserdata(L: LuaState, pointer: Pointer): void;
  _lua_pushthread(L: LuaState): number;
  /** A full userdata of `size` bytes with `userValues` user value slots, pushed. */
  _lua_newuserdatauv(L: LuaState, size: number, userValues: number): Pointer;

  _lua_createtable(L: LuaState, arraySize: number, hashSize: number): void;
  _lua_getfield(L: LuaState, index: number, key: Pointer): number;
  _lua_setfield(L: LuaState, index: number, key: Pointer): void;
  _lua_rawgeti(L: LuaState, index: number, n: bigint): number;
  _lua_rawseti(L: LuaState, index: number, n: bigint): void;
  _lua_getglobal(L: LuaState, name: Pointer): number;
  _lua_setglobal(L: LuaState, name: Pointer): void;
}

/** Status codes of lua_resume / lua_pcall. */
export const LuaStatus = {
  ok: 0,
  yield: 1,
  runtimeError: 2,
  syntaxError: 3,
  memoryError: 4,
  handlerError: 5,
} as const;

/** Value types of lua_type. */
export const LuaType = {
  none: -1,
  nil: 0,
  boolean: 1,
  lightUserdata: 2,
  number: 3,
  string: 4,
  table: 5,
  function: 6,
  userdata: 7,
  thread: 8,
} as const;

export const LUA_REGISTRYINDEX = -1_000_000 - 1000;
export const LUA_MULTRET = -1;
export const LUA_MASKCOUNT = 1 << 3;

/** Offset of `source` (a `const char *`) in a wasm32 `lua_Debug`. */
export const LUA_DEBUG_SOURCE_OFFSET = 16;
/** Offset of `currentline` (an `int`) in a wasm32 `lua_Debug`. */
export const LUA_DEBUG_CURRENTLINE_OFFSET = 24;
export const LUA_DEBUG_SIZE = 128;

/** The WebAssembly exception type of this runtime (Node 20 has it; lib.dom is not in our types). */
const WasmException = (
  globalThis as unknown as { WebAssembly: { Exception: abstract new (...args: never[]) => object } }
).WebAssembly.Exception;

/**
 * Whether `error`, caught in TypeScript called from Lua, is Lua unwinding (an error or a yield
 * raised by luaD_throw: a WebAssembly exception), which must pass through untouched.
 */
export function isLuaUnwind(error: unknown): boolean {
  return error instanceof WasmException;
}
