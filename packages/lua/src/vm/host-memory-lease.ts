import type { HostMemoryPool } from './host-memory-pool.js';

/** A heap's place in the pool of its host's threads. */
export interface SharedHostMemory {
  readonly pool: HostMemoryPool;
  /** The heap's member number in the pool (its worker's index). */
  readonly member: number;
  /**
   * How long an allocation that finds no room waits for the other members to collect (see
   * HostMemoryPool.askForRoom) before it is refused, and, when some did not answer in time, how
   * long the heap refuses without waiting again. Default ASK_WAIT_MS.
   */
  readonly askWaitMs?: number;
}

/**
 * A member's answers come between its slices, after a full collection of its heap: a few
 * milliseconds each, more with a large heap or a slice that cannot be preempted. Below a worker
 * watchdog's least bound (250 ms), which the wait counts towards.
 */
export const ASK_WAIT_MS = 200;

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
   * in a long slice, or stuck): Lua retries a refused allocation after collecting its own
   * state, and a process may catch the refusal and try again, and a thread that waited at each
   * would spend its time waiting (its watchdog counts that as busy).
   */
  private waitAgainAt = 0;

  constructor(shared: SharedHostMemory) {
    this.pool = shared.pool;
    this.member = shared.member;
    this.askWaitMs = shared.askWaitMs ?? ASK_WAIT_MS;
    // A host's 64th: a small host's threads do not take all of its room as idle chunks.
    this.chunk = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.floor(shared.pool.limitBytes / 64)));
  }

  get bytes(): number {
    return this.leased;
  }

  /**
   * The heap holds `used` bytes and an allocation needs `short` more than the lease: takes at
   * least that from the pool. When the pool has no room, the other members are asked to collect
   * and give back, and the heap tries once more before the allocation is refused.
   */
  grow(used: number, short: number): LeaseGrowth {
    const { pool, member } = this;
    let granted = pool.take(member, short, Math.max(short, this.chunk));
    if (granted === 0 && pool.members > 1 && performance.now() >= this.waitAgainAt) {
      if (!pool.askForRoom(member, this.askWaitMs))
        this.waitAgainAt = performance.now() + this.askWaitMs;
      granted = pool.take(member, short, Math.max(short, this.chunk));
    }
    if (granted === 0) return { ok: false, held: pool.leasedBytes - this.leased + used };
    this.leased += granted;
    return { ok: true, lease: this.leased };
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
