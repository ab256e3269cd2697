import type { HostMemoryPool } from './host-memory-pool.js';

/** A heap's place in the pool of its host's threads. */
export interface SharedHostMemory {
  readonly pool: HostMemoryPool;
  /** The heap's member number in the pool (its worker's index). */
  readonly member: number;
  /**
   * How long an allocation that finds no room waits for the other members to collect (see
   * HostMemoryPool.askForRoom) before it is refused; how long one slice may wait in all (see
   * HostMemoryLease.startSlice); and, when some did not answer in time, how long the heap
   * refuses without waiting again. Default ASK_WAIT_MS.
   */
  readonly askWaitMs?: number;
}

/**
 * A member's answers come between its slices, after a full collection of its heap: a few
 * milliseconds each, more with a large heap or a slice that cannot be preempted. Below a worker
 * watchdog's least bound (250 ms), which the wait counts towards: it is also all a slice may
 * wait, however many of its allocations find no room.
 */
export const ASK_WAIT_MS = 200;

/**
 * After an ask that every member answered and that still left no room, the heap refuses
 * without asking again for this many times as long as the ask took (at most the ask's wait):
 * with a large heap of many small objects on another thread an answer takes tens of
 * milliseconds, and the next allocations that find no room (Lua's own retry after its emergency
 * collection, the other processes of a burst, a process that catches the refusal and tries
 * again) would most likely be refused after as long a wait, each costing every other member a
 * full collection. So at most a fifth of a thread's time goes to asks that found nothing.
 */
const FRUITLESS_BACKOFF = 4;

/** The lease changes by at most this much at a time: few calls to the pool, little idle room. */
const MAX_CHUNK = 1024 * 1024;
const MIN_CHUNK = 64 * 1024;

/** A lease that grew or could not. */
export type LeaseGrowth =
  | { readonly ok: true; readonly lease: number }
  /** `held`: what the host holds, as far as this heap can tell (for the refusal's message). */
  | { readonly ok: false; readonly held: number };

/**
 * What one heap leased of its host's pool, and when it takes more or gives some back: it takes
 * a chunk (or what an allocation needs, if more) when an allocation passes the lease, and
 * after a collection gives back whole chunks, keeping one or two above what it holds for what
 * comes next. So the pool is asked about once per chunk allocated, and a heap keeps little it
 * does not use past its last collection (the collections a heap runs anyway, as it grows, and
 * those the other members ask for when they find no room).
 *
 * Asking the others blocks the thread inside an allocation, in a slice its watchdog counts as
 * busy: a slice waits at most askWaitMs in all (`startSlice`), an ask that found nothing is
 * not repeated for a while (FRUITLESS_BACKOFF), and the scheduler ends a slice in which the
 * heap waited as soon as its time is up (`waited`). Ordinary memory pressure makes allocations
 * fail, never a thread look stuck.
 */
export class HostMemoryLease {
  /** Bytes this heap may hold now. */
  private leased = 0;
  private readonly chunk: number;
  private readonly pool: HostMemoryPool;
  private readonly member: number;
  private readonly askWaitMs: number;
  /**
   * When the heap may wait for the others again after a member did not answer in time (busy
   * in a long slice, or stuck), or after all answered and there was still no room
   * (FRUITLESS_BACKOFF): Lua retries a refused allocation after collecting its own state, and
   * a process may catch the refusal and try again, and a thread that waited at each would
   * spend its time waiting (its watchdog counts that as busy).
   */
  private waitAgainAt = 0;
  /** What the running slice may still wait for the others, in milliseconds. */
  private waitLeft: number;
  /** Whether an allocation waited for the others since the slice started (see `startSlice`). */
  waited = false;

  constructor(shared: SharedHostMemory) {
    this.pool = shared.pool;
    this.member = shared.member;
    this.askWaitMs = shared.askWaitMs ?? ASK_WAIT_MS;
    this.waitLeft = this.askWaitMs;
    // A host's 64th: a small host's threads do not take all of its room as idle chunks.
    this.chunk = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.floor(shared.pool.limitBytes / 64)));
  }

  get bytes(): number {
    return this.leased;
  }

  /**
   * A scheduler slice starts (the watchdog's busy stretch): it may wait up to askWaitMs for the
   * others again, and has not waited yet.
   */
  startSlice(): void {
    this.waitLeft = this.askWaitMs;
    this.waited = false;
  }

  /**
   * The heap holds `used` bytes and an allocation needs `short` more than the lease: takes at
   * least that from the pool. When the pool has no room, the other members are asked to collect
   * and give back, and the heap tries once more before the allocation is refused — unless the
   * slice has waited all it may, or a recent ask found nothing (see `waitAgainAt`).
   */
  grow(used: number, short: number): LeaseGrowth {
    const { pool, member } = this;
    const most = Math.max(short, this.chunk);
    let granted = pool.take(member, short, most);
    if (granted === 0 && pool.members > 1) granted = this.askAndTake(short, most);
    if (granted === 0) return { ok: false, held: pool.leasedBytes - this.leased + used };
    this.leased += granted;
    return { ok: true, lease: this.leased };
  }

  /** Asks the others for room, if the heap may wait now, and takes again; 0: still no room. */
  private askAndTake(least: number, most: number): number {
    const { pool, member } = this;
    const asked = performance.now();
    if (asked < this.waitAgainAt || this.waitLeft <= 0) return 0;
    this.waited = true;
    const answered = pool.askForRoom(member, Math.min(this.askWaitMs, this.waitLeft));
    const now = performance.now();
    const took = now - asked;
    this.waitLeft -= took;
    const granted = pool.take(member, least, most);
    if (!answered) this.waitAgainAt = now + this.askWaitMs;
    else if (granted === 0)
      this.waitAgainAt = now + Math.min(this.askWaitMs, FRUITLESS_BACKOFF * took);
    return granted;
  }

  /** The heap holds `used` bytes after a collection: whole chunks above one spare go back. */
  surplus(used: number): number {
    const keep = Math.ceil(used / this.chunk) * this.chunk + this.chunk;
    if (this.leased > keep) {
      this.pool.giveBack(this.member, this.leased - keep);
      this.leased = keep;
    }
    return this.leased;
  }

  /** The heap is gone: all of the lease goes back. */
  end(): void {
    if (this.leased > 0) this.pool.giveBack(this.member, this.leased);
    this.leased = 0;
  }
}
