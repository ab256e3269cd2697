import type { LuactError } from '@luact/core';

interface Waiting<T> {
  readonly thread: string;
  resolve(value: T): void;
  reject(error: LuactError): void;
}

/**
 * Requests this thread sent to other threads and waits to hear back on, by number: each
 * remembers its thread, so that the requests to a thread that is gone (or to every thread, when
 * the node stops) fail at once instead of waiting for an answer that will never come.
 */
export class PendingAnswers<T> {
  private readonly waiting = new Map<number, Waiting<T>>();
  private next = 1;

  /** A promise for the answer to a request to `thread`; `post` sends it under its number. */
  ask(thread: string, post: (id: number) => void): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { thread, resolve, reject });
      post(id);
    });
  }

  /** Request `id` was answered: who waits for it (undefined when nobody does any more). */
  take(id: number): Waiting<T> | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    return waiting;
  }

  /** The requests to `thread` (every request when undefined) fail with `error`; how many. */
  fail(thread: string | undefined, error: LuactError): number {
    let failed = 0;
    for (const [id, waiting] of this.waiting) {
      if (thread !== undefined && waiting.thread !== thread) continue;
      this.waiting.delete(id);
      waiting.reject(error);
      failed++;
    }
    return failed;
  }
}
