import type { MessagePort } from 'node:worker_threads';
import type { SliceObserver } from '@luact/lua';
import { decodeBatch, encodeBatch } from './thread-frames.js';
import type { ThreadRecord } from './thread-records.js';

/** Records a link sends in one post at most (a flush also happens at the end of each turn). */
const BATCH = 256;

/**
 * One direction-pair of the node's threads: records posted here reach the other thread in the
 * order they were posted (mail, signals and spawns alike, so a process's messages and relation
 * signals keep their order). Records of one turn go in one post, as one transferred buffer
 * (thread-frames.ts): a post per record costs several times more than the record itself.
 */
export class ThreadLink {
  private outbox: ThreadRecord[] = [];
  private readonly flushNow = () => this.flush();

  constructor(private readonly port: MessagePort) {}

  post(record: ThreadRecord): void {
    const waiting = this.outbox.push(record);
    if (waiting === 1) queueMicrotask(this.flushNow);
    else if (waiting >= BATCH) this.flush();
  }

  flush(): void {
    if (this.outbox.length === 0) return;
    const batch = encodeBatch(this.outbox);
    this.outbox = [];
    this.port.postMessage(batch, [batch]);
  }

  /**
   * Hands every batch the other thread sends, in order, to `receive`; `pulse` is told around
   * each batch (a worker's: its watchdog sees a batch that never ends).
   */
  listen(receive: (record: ThreadRecord) => void, pulse?: SliceObserver): void {
    this.port.on('message', (batch: ArrayBuffer) => {
      pulse?.begin();
      try {
        for (const record of decodeBatch(batch)) receive(record);
      } finally {
        pulse?.end();
      }
    });
  }

  /** Lets the thread's event loop end while the link is idle (the main thread's). */
  unref(): void {
    this.port.unref();
  }

  close(): void {
    this.flush();
    this.port.close();
  }
}
