/**
 * The max_memory of a process host that runs on several worker threads, shared by the heaps of
 * its threads (one Lua state and engine each). Each heap holds a lease, bytes taken from the
 * pool, and allocates within it without asking anyone (see HostMemoryLease): the threads meet
 * here only when a lease grows or shrinks, by a chunk at a time, so max_memory holds host-wide
 * without a cross-thread round trip per allocation.
 *
 * Memory a thread holds as garbage is not in its neighbours' reach: a heap that finds no room
 * asks the others to collect theirs and give back what that frees (`askForRoom`), as a single
 * state collects before it refuses an allocation.
 *
 * Plain shared memory, made by the main thread (so it outlives any one worker) and attached by
 * every member: byte counts are 64-bit integers changed with Atomics, so the sum of the leases
 * never passes the limit whatever the threads do at once.
 */

/** `answered` of a member that is gone: it answers every request (it holds nothing). */
const GONE = 0x7fffffff;

/** 64-bit words: the limit, the bytes leased in all, then each member's lease. */
const LIMIT = 0;
const LEASED = 1;
const FIRST_LEASE = 2;
/**
 * 32-bit words after them: the last request for room, a tick bumped by every answer, then the
 * last request each member answered.
 */
const ASKED = 0;
const ANSWERS = 1;
const FIRST_ANSWERED = 2;

const WORDS = 2;

/** Atomics.waitAsync (Node 16 and later; its types come with TypeScript's ES2024 library). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

export class HostMemoryPool {
  /** How many heaps share the pool (a worker host's thread count). */
  readonly members: number;
  private readonly bytes: BigInt64Array;
  private readonly requests: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    // 8 bytes per 64-bit word and 4 per 32-bit word, WORDS of each plus one per member.
    this.members = buffer.byteLength / 12 - WORDS;
    this.bytes = new BigInt64Array(buffer, 0, WORDS + this.members);
    this.requests = new Int32Array(buffer, 8 * (WORDS + this.members), WORDS + this.members);
  }

  /** A pool of `limitBytes` for `members` heaps, none of which has leased anything yet. */
  static create(limitBytes: number, members: number): HostMemoryPool {
    const pool = new HostMemoryPool(new SharedArrayBuffer(12 * (WORDS + members)));
    pool.bytes[LIMIT] = BigInt(Math.floor(limitBytes));
    return pool;
  }

  /** The host's max_memory. */
  get limitBytes(): number {
    return Number(this.bytes[LIMIT]);
  }

  /** Bytes leased to all members together (never more than the limit). */
  get leasedBytes(): number {
    return Number(Atomics.load(this.bytes, LEASED));
  }

  /** Bytes leased to `member`. */
  leaseOf(member: number): number {
    return Number(Atomics.load(this.bytes, FIRST_LEASE + member));
  }

  /**
   * Leases `member` between `least` and `most` bytes, as many as the room left allows; 0 when
   * even `least` does not fit.
   */
  take(member: number, least: number, most: number): number {
    const limit = this.bytes[LIMIT] as bigint;
    const wanted = BigInt(Math.ceil(least));
    let leased = Atomics.load(this.bytes, LEASED);
    for (;;) {
      const room = limit - leased;
      if (room < wanted) return 0;
      const most64 = BigInt(Math.ceil(most));
      const grant = most64 < room ? most64 : room;
      const seen = Atomics.compareExchange(this.bytes, LEASED, leased, leased + grant);
      if (seen === leased) {
        Atomics.add(this.bytes, FIRST_LEASE + member, grant);
        return Number(grant);
      }
      leased = seen;
    }
  }

  /** `member` gives `bytes` of its lease back. */
  giveBack(member: number, bytes: number): void {
    const returned = BigInt(bytes);
    Atomics.sub(this.bytes, FIRST_LEASE + member, returned);
    Atomics.sub(this.bytes, LEASED, returned);
  }

  /**
   * `member`'s thread has ended (its heap with it): its whole lease comes back, and it answers
   * requests for room until a new thread joins in its place. Called once the thread is surely
   * gone, so nothing can take in its name meanwhile. (A thread ended between the two steps of
   * `take`, the total and then its own lease, would leave its last grant in the total: threads
   * are ended when they failed, exited or stopped answering, not inside `take`.)
   */
  release(member: number): void {
    const lease = Atomics.exchange(this.bytes, FIRST_LEASE + member, 0n);
    Atomics.sub(this.bytes, LEASED, lease);
    Atomics.store(this.requests, FIRST_ANSWERED + member, GONE);
    this.tick();
  }

  /** A thread starts as `member` (its heap leases nothing yet); it answers requests from now. */
  join(member: number): void {
    Atomics.store(this.requests, FIRST_ANSWERED + member, Atomics.load(this.requests, ASKED));
  }

  /**
   * `member` found no room: asks every other member to collect its garbage and give back what
   * that frees, and waits (blocking its thread) until all have answered or `waitMs` passed.
   * Returns whether all answered. While it waits it answers the others' requests itself, with
   * nothing (it is inside an allocation and cannot collect), so two members asking at once
   * do not wait for each other.
   */
  askForRoom(member: number, waitMs: number): boolean {
    const { requests } = this;
    const request = Atomics.add(requests, ASKED, 1) + 1;
    Atomics.store(requests, FIRST_ANSWERED + member, request);
    Atomics.notify(requests, ASKED);
    this.tick();
    const deadline = performance.now() + waitMs;
    for (;;) {
      const tick = Atomics.load(requests, ANSWERS);
      const asked = Atomics.load(requests, ASKED);
      if (Atomics.load(requests, FIRST_ANSWERED + member) < asked) {
        Atomics.store(requests, FIRST_ANSWERED + member, asked);
        this.tick();
        continue;
      }
      if (this.allAnswered(request)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(requests, ANSWERS, tick, left);
    }
  }

  /**
   * Calls `answer` on this thread (from its event loop) whenever another member asks for room,
   * then tells that it has answered. `answer` collects and gives back what it can. Returns how
   * to stop listening.
   */
  whenAsked(member: number, answer: () => void): () => void {
    const { requests } = this;
    let stopped = false;
    const wake = () => {
      if (stopped) return;
      const asked = Atomics.load(requests, ASKED);
      const answered = Atomics.load(requests, FIRST_ANSWERED + member);
      if (answered < asked) {
        answer();
        Atomics.store(requests, FIRST_ANSWERED + member, asked);
        this.tick();
      }
      listen(asked);
    };
    const listen = (seen: number) => {
      const waiting = waitAsync(requests, ASKED, seen);
      if (waiting.async) void waiting.value.then(wake);
      else queueMicrotask(wake);
    };
    listen(Atomics.load(requests, ASKED));
    return () => {
      stopped = true;
    };
  }

  /** Whether every member has answered `request` (or a later one). */
  private allAnswered(request: number): boolean {
    for (let member = 0; member < this.members; member++)
      if (Atomics.load(this.requests, FIRST_ANSWERED + member) < request) return false;
    return true;
  }

  /** Wakes the members waiting in askForRoom to look at the answers again. */
  private tick(): void {
    Atomics.add(this.requests, ANSWERS, 1);
    Atomics.notify(this.requests, ANSWERS);
  }
}
