import type { SliceObserver } from '@luact/lua';

/** Word indices: how deep in busy work the worker is, since when (ms), how many turns it took. */
const DEPTH = 0;
const SINCE = 1;
const TURNS = 2;
/** Times are kept as milliseconds modulo 2^31: differences stay exact for 24 days. */
const MASK = 0x7fffffff;

/**
 * Whether a worker thread is busy, and since when, in memory the main thread owns: the worker
 * marks each slice of its VM and each batch it takes from a link (begin/end), the main
 * thread's watchdog reads how long the current one has lasted. An idle worker is never stuck,
 * however long it waits. One writer (the worker); a read that races a new slice sees it start
 * later, never earlier, so a worker is never taken for stuck by the race.
 */
export class WorkerPulse implements SliceObserver {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  static create(): WorkerPulse {
    return new WorkerPulse(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  }

  begin(): void {
    const words = this.words;
    // Only the worker writes: the start is stored before the depth says it is busy.
    if (words[DEPTH] === 0) Atomics.store(words, SINCE, Date.now() & MASK);
    Atomics.add(words, DEPTH, 1);
  }

  end(): void {
    if (Atomics.sub(this.words, DEPTH, 1) === 1) Atomics.add(this.words, TURNS, 1);
  }

  /** Milliseconds the worker has been busy without a break (0 when it is idle). */
  busyFor(now = Date.now()): number {
    if (Atomics.load(this.words, DEPTH) === 0) return 0;
    return ((now & MASK) - Atomics.load(this.words, SINCE)) & MASK;
  }

  /** How many slices and batches the worker has finished. */
  get turns(): number {
    return Atomics.load(this.words, TURNS);
  }
}
