import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { SliceObserver } from '@luact/lua';
import type { ThreadActivity } from './thread-activity.js';
import { decodeBatch, encodeBatch } from './thread-frames.js';
import type { ThreadRecord } from './thread-records.js';

/** Records a link sends in one post at most (a flush also happens at the end of each turn). */
const BATCH = 256;

/**
 * Records of a turn that go in its first post; each further post of the turn takes twice as
 * many, up to BATCH. The other thread starts on the first post while this one makes the rest:
 * with one post at the end of a long turn (a Lua slice that sends a hundred messages), the two
 * threads would take turns, each idle while the other works (measured: ping-pong across two
 * workers, window 100, ran at half the rate).
 */
const FIRST_BATCH = 16;

/**
 * One direction-pair of the node's threads: records posted here reach the other thread in the
 * order they were posted (mail, signals and spawns alike, so a process's messages and relation
 * signals keep their order). Records of one turn go in a few posts (see FIRST_BATCH), each one
 * transferred buffer (thread-frames.ts): a post per record costs several times more than the
 * record itself.
 */
export class ThreadLink {
  private outbox: ThreadRecord[] = [];
  /** Records that make this turn's next post (see FIRST_BATCH). */
  private batchSize = FIRST_BATCH;
  /** A flush is queued: as a microtask (post), or at the end of this turn (reportSoon). */
  private microtask = false;
  private immediate = false;
  private readonly flushNow = () => {
    this.microtask = false;
    this.batchSize = FIRST_BATCH;
    this.flush();
  };
  private readonly flushSoon = () => {
    this.immediate = false;
    this.flush();
  };
  /** Batches posted, and batches received (both ends count the same batches). */
  private posted = 0;
  private received = 0;
  private closed = false;
  /** A report is to go soon, with nothing else to post (see reportSoon). */
  private reportDue = false;
  /**
   * Makes a record that goes first in each batch, computed as the batch goes (what this
   * thread's mailboxes hold: see WorkerRouter.report); undefined when there is nothing to say.
   */
  report: (() => ThreadRecord | undefined) | undefined;
  /** What takes each batch the other thread posts (see listen). */
  private take: ((batch: ArrayBuffer) => void) | undefined;

  /**
   * `activity`: the thread's own, which counts the batches of all its links (see nodeIsQuiet);
   * `taken`: counts the batches this thread's links took, as each begins (see MailRoom).
   */
  constructor(
    private readonly port: MessagePort,
    private readonly activity?: ThreadActivity,
    private readonly taken?: { batches: number },
  ) {}

  post(record: ThreadRecord): void {
    const waiting = this.outbox.push(record);
    if (waiting >= this.batchSize) {
      this.flush();
      this.batchSize = Math.min(this.batchSize * 2, BATCH);
    } else if (!this.microtask) {
      this.microtask = true;
      queueMicrotask(this.flushNow);
    }
  }

  /**
   * Posts the report (see `report`), which nothing waits for: with the next batch posted this
   * turn (a reply its own post would wake the other thread for again), at the latest at the end
   * of this turn of the event loop.
   */
  reportSoon(): void {
    this.reportDue = true;
    if (!this.microtask && !this.immediate) {
      this.immediate = true;
      setImmediate(this.flushSoon);
    }
  }

  /** The number of the last batch taken from the other thread (0: none yet). */
  get heard(): number {
    return this.received;
  }

  /** The number of the batch a record posted now goes in (the first is 1). */
  get batch(): number {
    return this.posted + 1;
  }

  flush(): void {
    if (this.outbox.length === 0 && !this.reportDue) return;
    this.reportDue = false;
    const report = this.closed ? undefined : this.report?.();
    if (report !== undefined) this.outbox.unshift(report);
    if (this.outbox.length === 0) return;
    const batch = encodeBatch(this.outbox);
    this.outbox = [];
    this.posted++;
    this.activity?.sent();
    this.port.postMessage(batch, [batch]);
  }

  /**
   * Hands every batch the other thread sends, in order, to `receive`, and says when each is
   * done with its number; `pulse` is told around each batch (a worker's: its watchdog sees a
   * batch that never ends).
   */
  listen(
    receive: (record: ThreadRecord) => void,
    done?: (batch: number) => void,
    pulse?: SliceObserver,
  ): void {
    this.take = (batch: ArrayBuffer) => {
      this.activity?.received();
      const number = ++this.received;
      if (this.taken) this.taken.batches++;
      pulse?.begin();
      try {
        for (const record of decodeBatch(batch)) receive(record);
      } finally {
        pulse?.end();
      }
      done?.(number);
    };
    this.port.on('message', this.take);
  }

  /**
   * Takes at once the batches the other thread posted that this one has not taken yet: that
   * thread is gone, and what it said before it went still counts (its end may reach this
   * thread before its last batch does: they come by different ports).
   */
  drain(): void {
    const take = this.take;
    if (take === undefined || this.closed) return;
    for (let left = receiveMessageOnPort(this.port); left; left = receiveMessageOnPort(this.port))
      take(left.message as ArrayBuffer);
  }

  /** Lets the thread's event loop end while the link is idle (it still takes what comes). */
  unref(): void {
    this.port.unref();
  }

  /** Closes the link; the batches it carried leave its thread's counts. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.port.close();
    this.activity?.forget(this.posted, this.received);
  }
}
