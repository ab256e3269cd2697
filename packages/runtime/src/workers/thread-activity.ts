/** Word indices: the thread's phase, and the frames it sent and received on its live links. */
const PHASE = 0;
const SENT = 1;
const RECEIVED = 2;

/** What one thread said of itself at one moment (see ThreadActivity). */
export interface ActivityReading {
  /** Counts the thread's changes between busy and idle: odd while it is idle. */
  readonly phase: number;
  readonly sent: number;
  readonly received: number;
}

/**
 * Whether a thread of the node could still do anything, in memory the main thread reads
 * without asking (see nodeIsQuiet): a worker says it is idle when its event loop has nothing
 * left (its `beforeExit`) and busy again as soon as a frame or a word from the main thread
 * wakes it; each thread counts the frames it sent and received on its links (a frame is a
 * batch of records, or a message from the main thread a worker acts on). Only the thread
 * itself writes; the counters wrap at 2^32, which only their equality reads.
 */
export class ThreadActivity {
  private readonly words: Int32Array;

  /** `onWake`: the thread leaves its idle phase (a worker lets its loop end again). */
  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly onWake: () => void = () => {},
  ) {
    this.words = new Int32Array(buffer);
  }

  static create(): ThreadActivity {
    return new ThreadActivity(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  }

  /** The thread's loop has nothing left to do: nothing but a frame can wake it now. */
  idle(): void {
    if ((Atomics.load(this.words, PHASE) & 1) === 0) Atomics.add(this.words, PHASE, 1);
  }

  /** Something woke the thread: it is busy (first, before it counts or handles anything). */
  woke(): void {
    if ((Atomics.load(this.words, PHASE) & 1) === 1) {
      Atomics.add(this.words, PHASE, 1);
      this.onWake();
    }
  }

  sent(frames = 1): void {
    Atomics.add(this.words, SENT, frames);
  }

  /** A frame arrived: the thread wakes for it. */
  received(): void {
    this.woke();
    Atomics.add(this.words, RECEIVED, 1);
  }

  /**
   * A link is closed (its other thread is lost): what it carried leaves the counts, so frames
   * the lost thread never took do not look like frames still on their way.
   */
  forget(sent: number, received: number): void {
    Atomics.sub(this.words, SENT, sent);
    Atomics.sub(this.words, RECEIVED, received);
  }

  read(): ActivityReading {
    return {
      phase: Atomics.load(this.words, PHASE),
      sent: Atomics.load(this.words, SENT),
      received: Atomics.load(this.words, RECEIVED),
    };
  }
}

/**
 * Whether nothing in the node can ever make progress again, from two readings of every worker
 * thread taken one after the other (`first`, then `second`) while the main thread itself has
 * nothing left to do (its counts: `main`). It holds when every worker was idle in both and
 * changed nothing between them — so at a moment between the two readings all of them were idle
 * together — and every frame sent by then had been received: none is on its way to wake anyone.
 */
export function nodeIsQuiet(
  first: readonly ActivityReading[],
  second: readonly ActivityReading[],
  main: Pick<ActivityReading, 'sent' | 'received'>,
): boolean {
  if (first.length !== second.length) return false;
  let sent = main.sent;
  let received = main.received;
  for (let i = 0; i < first.length; i++) {
    const before = first[i] as ActivityReading;
    const after = second[i] as ActivityReading;
    if ((before.phase & 1) === 0 || before.phase !== after.phase) return false;
    if (before.sent !== after.sent || before.received !== after.received) return false;
    sent = (sent + before.sent) | 0;
    received = (received + before.received) | 0;
  }
  return sent === received;
}
