import type { Fiber } from './fiber.js';

/** Slots of a table: more than a VM's memory can hold fibers (a thread alone takes ~1 KB). */
const SLOTS = 2 ** 22;
/** Generations of a slot before they start again at 0 (id stays below 2^53). */
const GENERATIONS = 2 ** 31;

/**
 * The live fibers of a VM by id, for Lua's `host.wake(id)`. An id is the index of a slot in a
 * dense array plus that slot's generation times SLOTS: a lookup hashes nothing and a spawn adds
 * no Map entry. A slot freed by a fiber that ended is taken by the next fiber, in the next
 * generation, so the old id finds nothing. After GENERATIONS reuses of one slot an id comes
 * back: a stale id that old could name a newer fiber, which is then woken once for nothing
 * (every wait is re-checked after a wake).
 */
export class FiberTable {
  /** Slot 0 is never used: no fiber has id 0, which is what Lua's tonumber gives for a non-number. */
  private readonly slots: (Fiber | undefined)[] = [undefined];
  /** Each slot's current generation. */
  private readonly generations: number[] = [0];
  private readonly free: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The id of the next fiber to `add`: its slot is taken from now on. */
  reserve(): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      if (slot >= SLOTS) throw new Error(`more than ${SLOTS} fibers in one VM`);
      this.slots.push(undefined);
      this.generations.push(0);
    }
    return (this.generations[slot] as number) * SLOTS + slot;
  }

  /** Adds `fiber`, whose id `reserve` gave. */
  add(fiber: Fiber): void {
    this.slots[fiber.id % SLOTS] = fiber;
    this.count++;
  }

  get(id: number): Fiber | undefined {
    const fiber = this.slots[id % SLOTS];
    return fiber !== undefined && fiber.id === id ? fiber : undefined;
  }

  /** Forgets `fiber` and frees its slot for the next generation. */
  delete(fiber: Fiber): void {
    const slot = fiber.id % SLOTS;
    if (this.slots[slot] !== fiber) return;
    this.slots[slot] = undefined;
    this.generations[slot] = ((this.generations[slot] as number) + 1) % GENERATIONS;
    this.free.push(slot);
    this.count--;
  }

  *values(): IterableIterator<Fiber> {
    for (const fiber of this.slots) if (fiber !== undefined) yield fiber;
  }

  clear(): void {
    for (const fiber of this.slots) if (fiber !== undefined) this.delete(fiber);
  }
}
