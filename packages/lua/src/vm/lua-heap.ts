import { LuactError } from '@luact/core';
import type { LuaApi, Pointer } from '../wasm/lua-api.js';
import { HostMemoryLease, type SharedHostMemory } from './host-memory-lease.js';

/**
 * The memory all Lua states of one engine (one WebAssembly instance, whose memory cannot grow
 * past 2 GiB) may hold together. Each host's heap has its own limit; this one keeps the sum
 * of them below what the engine can give, so a burst on one host is refused as that host's
 * process running out of memory instead of failing whoever allocates next on another host.
 *
 * The allocator counts in a record inside the engine (two doubles: used, limit), made when a
 * heap first uses the budget; until then the budget only keeps its limit. It belongs to that
 * engine from then on.
 */
export class EngineMemory {
  private engine: { readonly api: LuaApi; readonly record: Pointer } | undefined;
  private limit: number;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  /** Bytes held by every Lua heap of the engine. */
  get used(): number {
    const { engine } = this;
    return engine === undefined ? 0 : (engine.api.HEAPF64[engine.record >> 3] as number);
  }

  get limitBytes(): number {
    const { engine } = this;
    return engine === undefined
      ? this.limit
      : (engine.api.HEAPF64[(engine.record >> 3) + 1] as number);
  }

  set limitBytes(bytes: number) {
    const { engine } = this;
    if (engine === undefined) this.limit = bytes;
    else engine.api.HEAPF64[(engine.record >> 3) + 1] = bytes;
  }

  /** The record the allocator of `api`'s engine counts this budget in. */
  recordIn(api: LuaApi): Pointer {
    const { engine } = this;
    if (engine !== undefined) {
      if (engine.api !== api)
        throw new LuactError('INTERNAL', 'a Lua engine budget is shared by two engines');
      return engine.record;
    }
    const record = api._malloc(ENGINE_RECORD_SIZE);
    if (record === 0) throw new LuactError('INTERNAL', 'no memory for a Lua engine budget');
    api.HEAPF64[record >> 3] = 0;
    api.HEAPF64[(record >> 3) + 1] = this.limit;
    this.engine = { api, record };
    return record;
  }
}

/** 1.5 GiB of the engine's 2 GiB: the rest is for the allocator's own overhead and buffers. */
export const DEFAULT_ENGINE_LIMIT = 1536 * 1024 * 1024;

/** Which limit an allocation would have crossed. */
export type MemoryLimitKind = 'process' | 'host' | 'engine';

/** An allocation the heap refused, kept to explain the "not enough memory" it caused. */
export interface MemoryRefusal {
  readonly limit: MemoryLimitKind;
  /** Bytes the refused allocation asked for on top of what was held. */
  readonly requested: number;
  /** Bytes held (by the process, the host or the engine: see `limit`) when it was refused. */
  readonly held: number;
  readonly limitBytes: number;
}

export interface LuaHeapOptions {
  /** Bytes all processes of the state may hold together (with `shared`: of every member's). */
  readonly hostLimit: number;
  /**
   * The host runs on several threads, a heap each, and its max_memory holds for them all: this
   * heap leases its room from their pool (hostLimit is then the pool's limit).
   */
  readonly shared?: SharedHostMemory;
  /** Bytes one process may hold. */
  readonly processLimit: number;
  readonly engine: EngineMemory;
  /**
   * A block of 64 KiB or more is about to be allocated (the scheduler checks the time slice):
   * true refuses it, where a refusal is allowed (the running process is being stopped).
   */
  readonly onLargeAllocation: () => boolean;
  /**
   * The heap, or a process in it, has grown by half its headroom since the last collection:
   * garbage should be collected at the next instruction (see `collected`), before the limit
   * refuses allocations that garbage takes the room of.
   */
  readonly onPressure: () => void;
}

/** The Engine record of luact_heap.c: two doubles. */
const ENGINE_RECORD_SIZE = 16;

/**
 * Byte offsets of the fields of luact_heap.c's Heap this face reads or writes (the C file
 * checks them with static asserts).
 */
const HEAP = {
  owner: 0,
  refusable: 4,
  pressure: 8,
  refusalLimit: 12,
  refusalSlot: 16,
  used: 24,
  refusalRequested: 32,
  refusalHeld: 40,
  refusalLimitBytes: 48,
  hostLimit: 56,
  slots: 84,
  pooled: 108,
  leaseShort: 120,
  hostHeld: 128,
} as const;

/** A Slot of luact_heap.c is 24 bytes; its first field is the bytes it holds. */
const SLOT_SIZE = 24;

/** luact_heap.c's HeapEvent values. */
const PRESSURE = 1;
const LARGE_ALLOCATION = 2;
const LEASE_SHORT = 3;

/** luact_heap.c's HeapLimit values, from 1 (0: no refusal). */
const LIMIT_KINDS: readonly (MemoryLimitKind | undefined)[] = [
  undefined,
  'process',
  'host',
  'engine',
];

/**
 * The allocator of one Lua state: the TypeScript face of luact_heap.c (packages/lua/wasm),
 * our lua_Alloc inside the engine. It knows, at every allocation, how many bytes the state
 * and each process in it hold, and refuses an allocation that would cross a limit (the
 * process's, the host's, the engine's): "not enough memory" in the allocating process only.
 *
 * Processes own slots: while a process runs (`owner`), what is allocated is charged to its
 * slot; a block freed later (by whichever process runs the collector) is credited back to it,
 * unless the process has ended since (each block carries its slot's generation).
 *
 * The allocator runs without JavaScript: `owner` and `refusable`, set around every
 * lua_resume, and what TypeScript reads (`used`, `pressure`, `refusal`, `bytesOf`) are fields
 * of its record, reached through typed arrays over the engine's memory. It calls back only on
 * rare events: a collection is due (`onPressure`; what is held includes garbage, and Lua does
 * not collect before it gives up on a luaL_Buffer's allocation), or a large block was made.
 *
 * A heap of a host on several threads (`shared`) holds a lease of the host's max_memory (see
 * HostMemoryLease): the allocator calls back when an allocation passes it, and what garbage
 * took of it goes back after each collection.
 */
export class LuaHeap {
  /** The lua_Alloc function to give lua_newstate, with `record` as its `ud`. */
  readonly allocator: Pointer;
  /** The allocator's Heap record in the engine's memory. */
  readonly record: Pointer;
  private readonly notify: Pointer;
  /** Where `owner` and `refusable` are in `ints` (stored around every lua_resume). */
  private readonly ownerIndex: number;
  private readonly refusableIndex: number;
  /** Typed arrays over the engine's memory: replaced when it grows (the old ones detach). */
  private ints: Int32Array;
  private floats: Float64Array;
  /** What the heap leased of its host's pool, when the host runs on several threads. */
  private readonly lease: HostMemoryLease | undefined;

  constructor(
    private readonly api: LuaApi,
    options: LuaHeapOptions,
  ) {
    const { onPressure, onLargeAllocation } = options;
    const engine = options.engine.recordIn(api);
    this.notify = api.addFunction((_heap, event) => {
      if (event === LARGE_ALLOCATION) return onLargeAllocation() ? 1 : 0;
      if (event === PRESSURE) onPressure();
      else if (event === LEASE_SHORT) this.leaseShort();
      return 0;
    }, 'iii');
    this.record = api._luact_heap_new(engine, options.hostLimit, options.processLimit, this.notify);
    if (this.record === 0) {
      api.removeFunction(this.notify);
      throw new LuactError('INTERNAL', 'no memory for a Lua heap');
    }
    this.allocator = api._luact_heap_allocator();
    this.ownerIndex = (this.record + HEAP.owner) >> 2;
    this.refusableIndex = (this.record + HEAP.refusable) >> 2;
    this.ints = api.HEAP32;
    this.floats = api.HEAPF64;
    if (options.shared !== undefined) {
      this.lease = new HostMemoryLease(options.shared);
      // The lease starts empty: the first allocation that may be refused takes what is held.
      this.setInt(HEAP.pooled, 1);
      this.setFloat(HEAP.hostLimit, 0);
    }
  }

  /** The slot allocations are charged to now: a process's, or 0 (the host's: kernel, entries). */
  get owner(): number {
    return this.int(HEAP.owner);
  }

  set owner(slot: number) {
    this.intView()[this.ownerIndex] = slot;
  }

  /** Whether an allocation over a limit may be refused now (inside a protected Lua call). */
  get refusable(): boolean {
    return this.int(HEAP.refusable) !== 0;
  }

  set refusable(refusable: boolean) {
    this.intView()[this.refusableIndex] = refusable ? 1 : 0;
  }

  /** Bytes held by the state. */
  get used(): number {
    return this.float(HEAP.used);
  }

  /** Asked for a collection that has not happened yet. */
  get pressure(): boolean {
    return this.int(HEAP.pressure) !== 0;
  }

  /** The last refusal and the slot it happened to, until that slot allocates successfully. */
  get refusal(): { readonly slot: number; readonly what: MemoryRefusal } | undefined {
    const limit = LIMIT_KINDS[this.int(HEAP.refusalLimit)];
    if (limit === undefined) return undefined;
    return {
      slot: this.int(HEAP.refusalSlot),
      what: {
        limit,
        requested: this.float(HEAP.refusalRequested),
        held: this.float(HEAP.refusalHeld),
        limitBytes: this.float(HEAP.refusalLimitBytes),
      },
    };
  }

  /** A slot for a new process; its bytes start at 0. */
  openSlot(): number {
    const slot = this.api._luact_heap_open_slot(this.record);
    if (slot < 0) throw new LuactError('INTERNAL', 'no memory for one more process slot');
    return slot;
  }

  /**
   * The process of `slot` ended: what it still holds (garbage not yet collected, strings
   * others use) is the host's from now on, and the slot can serve another process.
   */
  closeSlot(slot: number): void {
    this.api._luact_heap_close_slot(this.record, slot);
  }

  /** Bytes held by the process of `slot`. */
  bytesOf(slot: number): number {
    const slots = this.int(HEAP.slots);
    return this.floatView()[(slots + slot * SLOT_SIZE) >> 3] as number;
  }

  /**
   * Garbage was just collected: each threshold moves to halfway between what is held now and
   * its limit, so the next collection comes after half the room left is used again.
   */
  collected(): void {
    this.api._luact_heap_collected(this.record);
    // What the garbage took of the lease is another thread's to take now.
    if (this.lease !== undefined) this.setFloat(HEAP.hostLimit, this.lease.surplus(this.used));
  }

  /**
   * A scheduler slice starts: an allocation that finds the host's pool used up may wait for
   * the other threads again (a while at most in each slice: see HostMemoryLease).
   */
  startSlice(): void {
    this.lease?.startSlice();
  }

  /**
   * Whether an allocation of this slice waited for the host's other threads (it found their
   * pool used up): the scheduler looks at the clock after it. Always false on one thread.
   */
  get waitedOnPool(): boolean {
    return this.lease?.waited === true;
  }

  /** Bytes leased of the host's pool (undefined when the host runs on one thread). */
  get leased(): number | undefined {
    return this.lease?.bytes;
  }

  /**
   * The allocator is not used any more (after lua_close): its record is freed, so nothing of
   * the heap may be read or set after this.
   */
  dispose(): void {
    this.api._luact_heap_free(this.record);
    this.api.removeFunction(this.notify);
    this.lease?.end();
  }

  /** An allocation needs more than the lease: grown, or what the host holds for its refusal. */
  private leaseShort(): void {
    const lease = this.lease as HostMemoryLease;
    const growth = lease.grow(this.used, this.float(HEAP.leaseShort));
    if (growth.ok) this.setFloat(HEAP.hostLimit, growth.lease);
    else this.setFloat(HEAP.hostHeld, growth.held);
  }

  private int(offset: number): number {
    return this.intView()[(this.record + offset) >> 2] as number;
  }

  private float(offset: number): number {
    return this.floatView()[(this.record + offset) >> 3] as number;
  }

  private setInt(offset: number, value: number): void {
    this.intView()[(this.record + offset) >> 2] = value;
  }

  private setFloat(offset: number, value: number): void {
    this.floatView()[(this.record + offset) >> 3] = value;
  }

  private intView(): Int32Array {
    const view = this.ints;
    if (view.length !== 0) return view;
    this.ints = this.api.HEAP32;
    return this.ints;
  }

  private floatView(): Float64Array {
    const view = this.floats;
    if (view.length !== 0) return view;
    this.floats = this.api.HEAPF64;
    return this.floats;
  }
}
