/** Where the VM gets the time and its timers from; tests and workflows bring their own. */
export interface Clock {
  /** Unix time in nanoseconds. */
  now(): bigint;
  /** Calls `fire` once `delayMs` has passed; returns a function that cancels it. */
  schedule(delayMs: number, fire: () => void): () => void;
}

/** setTimeout takes at most 2^31-1 ms (~24.8 days); longer delays are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Where a system clock counts wall time from: a Unix time and the monotonic clock's reading
 * taken with it. The monotonic clock is one for every thread of the process, the wall clock
 * is not: it is adjusted as it runs (a machine's clock is slewed or stepped), so two threads
 * that each took their own anchor read times apart by what it was adjusted in between (a
 * process on a worker thread stamped an EXIT 5 ms after its monitor, on the main thread, had
 * received it). A node takes one and gives it to its worker threads.
 */
export interface WallAnchor {
  readonly unixNs: bigint;
  readonly monotonicNs: bigint;
}

/** An anchor taken now. */
export function wallAnchor(): WallAnchor {
  return { unixNs: BigInt(Date.now()) * 1_000_000n, monotonicNs: process.hrtime.bigint() };
}

/** A clock of wall time, and the anchor it counts from (for other threads' clocks). */
export interface SystemClock extends Clock {
  readonly anchor: WallAnchor;
}

/** Wall-clock time with the resolution of the monotonic clock, and Node timers. */
export function systemClock(anchor: WallAnchor = wallAnchor()): SystemClock {
  const { unixNs, monotonicNs } = anchor;
  return {
    anchor,
    now: () => unixNs + (process.hrtime.bigint() - monotonicNs),
    schedule(delayMs, fire) {
      // setTimeout(0) waits at least a millisecond; "now" should not.
      if (!(delayMs > 0)) {
        const immediate = setImmediate(fire);
        return () => clearImmediate(immediate);
      }
      // Node's timers run on a millisecond loop clock that can be up to a millisecond ahead of
      // hrtime, so a timer may fire before now() reaches its due time: it is re-armed until
      // then, and a sleep never ends early. Long delays are chained the same way.
      const due = process.hrtime.bigint() + BigInt(Math.ceil(delayMs * 1_000_000));
      const arm = (): void => {
        const leftMs = Number(due - process.hrtime.bigint()) / 1_000_000;
        if (leftMs <= 0) fire();
        else timer = setTimeout(arm, Math.min(Math.ceil(leftMs), MAX_TIMEOUT_MS));
      };
      let timer = setTimeout(arm, Math.min(delayMs, MAX_TIMEOUT_MS));
      return () => clearTimeout(timer);
    },
  };
}

/** A clock that moves only when told to: `advance(ms)` fires every timer that falls due. */
export class ManualClock implements Clock {
  private nowNs: bigint;
  private timers: { at: bigint; fire: () => void; seq: number }[] = [];
  private seq = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.nowNs = BigInt(startMs) * 1_000_000n;
  }

  now(): bigint {
    return this.nowNs;
  }

  schedule(delayMs: number, fire: () => void): () => void {
    const timer = {
      at: this.nowNs + BigInt(Math.round(delayMs * 1_000_000)),
      fire,
      seq: this.seq++,
    };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  advance(ms: number): void {
    const target = this.nowNs + BigInt(Math.round(ms * 1_000_000));
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => (a.at === b.at ? a.seq - b.seq : a.at < b.at ? -1 : 1))[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowNs = due.at;
      due.fire();
    }
    this.nowNs = target;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}
