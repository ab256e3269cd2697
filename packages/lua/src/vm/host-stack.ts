import type { LuaApi, LuaState } from '../wasm/lua-api.js';
import { LuaType } from '../wasm/lua-api.js';
import type { WasmMemory } from '../wasm/memory.js';

/** A string argument of this many bytes or more is a large one (see `onLargeRead`). */
const LARGE_ARGUMENT = 64 * 1024;

/**
 * A host function's arguments and results, typed: how bindings outside this package read and
 * answer Lua without the raw C API. Stateless, so it allocates nothing per call (the send path
 * goes through it).
 */
export class HostStack {
  /**
   * @param onLargeRead called when a string of 64 KiB or more is read: a host function
   *   working on one (a hash, a decoder) runs no Lua instruction, however long it takes, so a
   *   loop of such calls is looked at here, as a large allocation is.
   */
  constructor(
    private readonly api: LuaApi,
    private readonly memory: WasmMemory,
    private readonly onLargeRead: () => void = () => {},
  ) {}

  isString(L: LuaState, index: number): boolean {
    return this.api._lua_type(L, index) === LuaType.string;
  }

  isNumber(L: LuaState, index: number): boolean {
    return this.api._lua_type(L, index) === LuaType.number;
  }

  /**
   * The string at `index` (UTF-8 decoded), or undefined when the value is not a string or is
   * longer than `maxBytes` (not decoded then).
   */
  text(L: LuaState, index: number, maxBytes?: number): string | undefined {
    if (!this.isString(L, index)) return undefined;
    const text = this.memory.toString(L, index, maxBytes);
    if (text !== undefined && text.length >= LARGE_ARGUMENT) this.onLargeRead();
    return text;
  }

  /** Pushes `prefix`, the decimal digits of `n` and `suffix` as one string (see WasmMemory). */
  pushNumbered(L: LuaState, prefix: string, n: number, suffix: string): void {
    this.memory.pushNumbered(L, prefix, n, suffix);
  }

  /** A copy of the bytes of the string at `index`, or undefined when it is not a string. */
  bytes(L: LuaState, index: number): Uint8Array | undefined {
    return this.large(this.memory.toBytes(L, index));
  }

  /** The bytes of the string at `index` for a reader that never writes to them (see WasmMemory.readBytes). */
  readBytes(L: LuaState, index: number): Uint8Array | undefined {
    return this.large(this.memory.readBytes(L, index));
  }

  private large(bytes: Uint8Array | undefined): Uint8Array | undefined {
    if (bytes !== undefined && bytes.length >= LARGE_ARGUMENT) this.onLargeRead();
    return bytes;
  }

  /** The number at `index` (0 when it is not one). */
  number(L: LuaState, index: number): number {
    return this.api._lua_tonumberx(L, index, 0);
  }

  /** The integer at `index` (0 when it is not one). */
  integer(L: LuaState, index: number): number {
    return Number(this.api._lua_tointegerx(L, index, 0));
  }

  /** Lua truthiness of the value at `index`. */
  boolean(L: LuaState, index: number): boolean {
    return this.api._lua_toboolean(L, index) !== 0;
  }

  /**
   * Makes room for `count` more values on the stack of `L`, or raises a Lua error saying what
   * needed them. A host function may push LUA_MINSTACK (20) values without asking; one that
   * pushes a number of values it does not know in advance must ask first.
   */
  reserve(L: LuaState, count: number, what: string): void {
    if (this.api._lua_checkstack(L, count) !== 0) return;
    this.memory.pushString(L, `${what}: ${count} values do not fit on the Lua stack`);
    this.api._lua_error(L);
  }

  pushBoolean(L: LuaState, value: boolean): void {
    this.api._lua_pushboolean(L, value ? 1 : 0);
  }

  pushInteger(L: LuaState, value: number | bigint): void {
    this.api._lua_pushinteger(L, typeof value === 'bigint' ? value : BigInt(value));
  }

  pushNumber(L: LuaState, value: number): void {
    this.api._lua_pushnumber(L, value);
  }

  pushString(L: LuaState, text: string): void {
    this.memory.pushString(L, text);
  }

  pushBytes(L: LuaState, bytes: Uint8Array): void {
    this.memory.pushBytes(L, bytes);
  }
}
