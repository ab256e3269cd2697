import type { LuaApi, Pointer } from '../wasm/lua-api.js';

/**
 * The memory all Lua states of one engine (one WebAssembly instance, whose memory cannot grow
 * past 2 GiB) may hold together. Each host's heap has its own limit; this one keeps the sum
 * of them below what the engine can give, so a burst on one host is refused as that host's
 * process running out of memory instead of failing whoever allocates next on another host.
 */
export class EngineMemory {
  /** Bytes held by every Lua heap of the engine. */
  used = 0;

  constructor(public limitBytes: number) {}
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
  /** Bytes all processes of the state may hold together. */
  readonly hostLimit: number;
  /** Bytes one process may hold. */
  readonly processLimit: number;
  readonly engine: EngineMemory;
  /** A block of `bytes` or more was allocated (the scheduler checks the time slice). */
  readonly onLargeAllocation: () => void;
  /**
   * The heap, or a process in it, has grown by half its headroom since the last collection:
   * garbage should be collected at the next instruction (see `collected`), before the limit
   * refuses allocations that garbage takes the room of.
   */
  readonly onPressure: () => void;
}

/** Blocks of at least this size are rare and take time to fill: they count as work done. */
const LARGE_ALLOCATION = 64 * 1024;

/**
 * Every block carries a header in front of it: the owner's slot and that slot's generation
 * when the block was made, so a block freed after its owner ended is not credited to the
 * process that reuses the slot. 8 bytes keep Lua's blocks 8-byte aligned.
 */
const HEADER = 8;

/** Slot 0 owns what is allocated outside any process (the kernel, compiled entries). */
const NO_OWNER = 0;

/**
 * The allocator of one Lua state (lua_Alloc), written in TypeScript over the engine's own
 * malloc: it knows, at every allocation, how many bytes the state and each process in it
 * hold, and refuses an allocation that would cross a limit: "not enough memory" in the
 * allocating process only.
 *
 * Processes own slots: while a process runs, what is allocated is charged to its slot; a
 * block freed later (by whichever process runs the collector) is credited back to it.
 *
 * What is held includes garbage not yet collected. Lua collects before it gives up on most
 * allocations, but not on those of luaL_Buffer (string.rep, table.concat, string.format, …),
 * so the heap asks for a collection itself (`onPressure`) once the state or a process has
 * used half the room it had left after the last one.
 */
export class LuaHeap {
  /** The lua_Alloc function to give lua_newstate. */
  readonly allocator: Pointer;
  /** Bytes held by the state. */
  used = 0;
  /** The slot allocations are charged to now (a process's, or NO_OWNER). */
  owner = NO_OWNER;
  /** Whether an allocation over a limit may be refused now (inside a protected Lua call). */
  refusable = false;
  /** The last refusal and the slot it happened to, until that slot allocates successfully. */
  refusal: { readonly slot: number; readonly what: MemoryRefusal } | undefined;
  /** Asked for a collection that has not happened yet. */
  pressure = false;
  private slotBytes = new Float64Array(64);
  private generations = new Uint32Array(64);
  /** Collections so far; a slot whose epoch is older has not had its threshold reset since. */
  private epoch = 0;
  private slotEpochs = new Uint32Array(64);
  /** Bytes past which a slot, or the state, asks for a collection. */
  private slotCollectAt = new Float64Array(64);
  private hostCollectAt: number;
  private readonly freeSlots: number[] = [];
  private slotCount = 1;
  /** The engine's realloc and free, called directly. */
  private readonly realloc: (pointer: Pointer, size: number) => Pointer;
  private readonly free: (pointer: Pointer) => void;
  private heapWords: Uint32Array;

  constructor(
    private readonly api: LuaApi,
    private readonly options: LuaHeapOptions,
  ) {
    this.hostCollectAt = options.hostLimit / 2;
    this.realloc = api._realloc;
    this.free = api._free;
    this.heapWords = api.HEAPU32;
    this.allocator = api.addFunction(
      (_ud, pointer, oldSize, newSize) => this.allocate(pointer ?? 0, oldSize ?? 0, newSize ?? 0),
      'iiiii',
    );
  }

  /** A slot for a new process; its bytes start at 0. */
  openSlot(): number {
    const slot = this.freeSlots.pop() ?? this.growSlots();
    this.slotBytes[slot] = 0;
    this.slotEpochs[slot] = this.epoch;
    this.slotCollectAt[slot] = this.options.processLimit / 2;
    return slot;
  }

  /**
   * The process of `slot` ended: what it still holds (garbage not yet collected, strings
   * others use) is the host's from now on, and the slot can serve another process.
   */
  closeSlot(slot: number): void {
    const bytes = this.slotBytes;
    bytes[NO_OWNER] = (bytes[NO_OWNER] ?? 0) + (bytes[slot] ?? 0);
    bytes[slot] = 0;
    this.generations[slot] = ((this.generations[slot] ?? 0) + 1) >>> 0;
    if (this.refusal?.slot === slot) this.refusal = undefined;
    this.freeSlots.push(slot);
  }

  /** Bytes held by the process of `slot`. */
  bytesOf(slot: number): number {
    return this.slotBytes[slot] ?? 0;
  }

  /**
   * Garbage was just collected: each threshold moves to halfway between what is held now and
   * its limit, so the next collection comes after half the room left is used again.
   */
  collected(): void {
    this.pressure = false;
    this.epoch = (this.epoch + 1) >>> 0;
    this.hostCollectAt = this.used + (this.options.hostLimit - this.used) / 2;
  }

  /** The allocator is not used any more (after lua_close). */
  dispose(): void {
    this.options.engine.used -= this.used;
    this.used = 0;
    this.api.removeFunction(this.allocator);
  }

  private growSlots(): number {
    if (this.slotCount === this.slotBytes.length) {
      const size = this.slotCount * 2;
      this.slotBytes = grown(this.slotBytes, new Float64Array(size));
      this.generations = grown(this.generations, new Uint32Array(size));
      this.slotEpochs = grown(this.slotEpochs, new Uint32Array(size));
      this.slotCollectAt = grown(this.slotCollectAt, new Float64Array(size));
    }
    return this.slotCount++;
  }

  /**
   * lua_Alloc: free when `newSize` is 0, else allocate or resize (`oldSize` is the old size;
   * for a new block Lua passes the object's type there). Every Lua allocation of the state
   * comes through here, so it reads fields into locals and calls nothing it need not.
   */
  private allocate(pointer: Pointer, oldSize: number, newSize: number): Pointer {
    if (newSize === 0) {
      if (pointer !== 0) {
        const base = pointer - HEADER;
        this.charge(this.ownerOf(base), -oldSize);
        this.free(base);
      }
      return 0;
    }
    const fresh = pointer === 0;
    const delta = fresh ? newSize : newSize - oldSize;
    const slot = fresh ? this.owner : this.ownerOf(pointer - HEADER);
    if (delta > 0 && this.refusable && this.refuses(slot, delta)) return 0;
    const base = this.realloc(fresh ? 0 : pointer - HEADER, newSize + HEADER);
    if (base === 0) {
      // The engine's memory could not grow any further.
      const { engine } = this.options;
      this.refuse(slot, 'engine', delta, engine.used, engine.limitBytes);
      return 0;
    }
    if (fresh) {
      const words = this.words();
      words[base >> 2] = slot;
      words[(base >> 2) + 1] = this.generations[slot] as number;
    }
    this.charge(slot, delta);
    if (delta >= LARGE_ALLOCATION) this.options.onLargeAllocation();
    return base + HEADER;
  }

  /** The heap as words; a view is replaced when the memory grows (the old one is detached). */
  private words(): Uint32Array {
    let words = this.heapWords;
    if (words.length === 0) {
      words = this.api.HEAPU32;
      this.heapWords = words;
    }
    return words;
  }

  /** The slot a block is charged to: its owner's, unless the owner has ended since. */
  private ownerOf(base: Pointer): number {
    const words = this.words();
    const slot = words[base >> 2] as number;
    return words[(base >> 2) + 1] === this.generations[slot] ? slot : NO_OWNER;
  }

  private charge(slot: number, delta: number): void {
    this.used += delta;
    this.options.engine.used += delta;
    const bytes = (this.slotBytes[slot] as number) + delta;
    this.slotBytes[slot] = bytes;
    if (delta <= 0) return;
    if (this.refusal !== undefined && this.refusal.slot === slot) this.refusal = undefined;
    if (this.pressure) return;
    if (slot === NO_OWNER) {
      if (this.used > this.hostCollectAt) this.press();
      return;
    }
    if (this.slotEpochs[slot] !== this.epoch) {
      this.slotEpochs[slot] = this.epoch;
      this.slotCollectAt[slot] = bytes + (this.options.processLimit - bytes) / 2;
    }
    if (this.used > this.hostCollectAt || bytes > (this.slotCollectAt[slot] as number))
      this.press();
  }

  private press(): void {
    this.pressure = true;
    this.options.onPressure();
  }

  private refuses(slot: number, delta: number): boolean {
    const { hostLimit, processLimit, engine } = this.options;
    const processBytes = this.slotBytes[slot] ?? 0;
    if (slot !== NO_OWNER && processBytes + delta > processLimit)
      return this.refuse(slot, 'process', delta, processBytes, processLimit);
    if (this.used + delta > hostLimit)
      return this.refuse(slot, 'host', delta, this.used, hostLimit);
    if (engine.used + delta > engine.limitBytes)
      return this.refuse(slot, 'engine', delta, engine.used, engine.limitBytes);
    return false;
  }

  private refuse(
    slot: number,
    limit: MemoryLimitKind,
    requested: number,
    held: number,
    limitBytes: number,
  ): true {
    this.refusal = { slot, what: { limit, requested, held, limitBytes } };
    return true;
  }
}

function grown<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
