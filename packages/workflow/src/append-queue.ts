import { LuactError } from '@luact/core';
import type { Journal, JournalRecord } from '@luact/journal';

interface Pending {
  readonly record: JournalRecord;
  readonly done: () => void;
}

/** After an append failed for now, the first pause before it is repeated; it doubles up to the most. */
const REPEAT_FIRST_MS = 250;
const REPEAT_MOST_MS = 5_000;

/**
 * The journal stream of one run, written by one writer in order: records queued while an
 * append is in flight go out together in the next one. Each record's `done` runs once it is
 * durable, in queue order. An append the journal could not make for now (UNAVAILABLE and
 * retryable: a JetStream leader election, NATS down) is repeated with the same records at the
 * same position, which the Journal contract makes safe, until it is made or fails otherwise
 * (a CONFLICT once this node no longer owns the run, a journal shut down). Any other failure
 * stops the queue: `failed` says why, and nothing after it is written (a later append would
 * leave a gap).
 */
export class AppendQueue {
  private queue: Pending[] = [];
  private writing = false;
  private idle: (() => void)[] = [];
  failed: Error | undefined;

  constructor(
    private readonly journal: Journal,
    readonly stream: string,
    /** Records already in the stream. */
    public length: number,
    private readonly onFailure: (error: Error) => void,
    /** Everything queued is written: nothing is on its way any more. */
    private readonly onIdle: () => void = () => {},
  ) {}

  /** Queues `record`; `done` runs once it is durable. */
  push(record: JournalRecord, done?: () => void): void {
    this.pushAll([done ? { record, done } : { record }]);
  }

  /** Queues `records` in order, to go out in the same append (unless one is in flight). */
  pushAll(
    records: readonly { readonly record: JournalRecord; readonly done?: () => void }[],
  ): void {
    if (this.failed) return;
    for (const { record, done } of records) this.queue.push({ record, done: done ?? (() => {}) });
    if (!this.writing) void this.flush();
  }

  /** Records are queued or being written. */
  get busy(): boolean {
    return this.writing;
  }

  /** Resolves once everything queued so far is durable (or the queue failed). */
  drained(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.appendRepeating(batch.map((item) => item.record));
        this.length += batch.length;
        for (const item of batch) item.done();
      }
    } catch (error) {
      this.failed = error instanceof Error ? error : new Error(String(error));
      this.queue = [];
      this.onFailure(this.failed);
    } finally {
      this.writing = false;
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
      if (!this.failed) this.onIdle();
    }
  }

  private async appendRepeating(records: readonly JournalRecord[]): Promise<void> {
    for (let pause = REPEAT_FIRST_MS; ; pause = Math.min(2 * pause, REPEAT_MOST_MS)) {
      try {
        await this.journal.append(this.stream, this.length, records);
        return;
      } catch (error) {
        if (!(error instanceof LuactError && error.kind === 'UNAVAILABLE' && error.retryable))
          throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
