import { LuactError } from '@luact/core';
import type { Delivery } from '@luact/process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mailUntilStored } from './mail-until-stored.js';

const notStored = () =>
  new LuactError('UNAVAILABLE', 'mail to node "b" was not stored by JetStream within 15.0 s', {
    retryable: true,
  });

/** A send that answers each try with the next of `answers` (the last one from then on). */
function sends(answers: Array<() => Delivery>) {
  let tries = 0;
  const send = vi.fn(() => (answers[Math.min(tries++, answers.length - 1)] as () => Delivery)());
  return send;
}

describe('mailUntilStored', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('mails again after each failure that may pass, until one is stored', async () => {
    const send = sends([
      () => Promise.reject(notStored()),
      () => notStored(),
      () => Promise.resolve(),
    ]);
    const failures: Array<[string, boolean]> = [];
    mailUntilStored(send, {
      retryMs: 1_000,
      forMs: 60_000,
      stopped: () => false,
      failed: (error, final) => failures.push([error.kind, final]),
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(send).toHaveBeenCalledTimes(3);
    expect(failures).toEqual([
      ['UNAVAILABLE', false],
      ['UNAVAILABLE', false],
    ]);
  });

  it('stops at a failure that cannot pass, once the node stops, and after forMs', async () => {
    const refused = new LuactError('INTERNAL', 'refused by JetStream', { retryable: false });
    for (const [answer, stopped, expected] of [
      [() => refused, false, 1],
      [() => notStored(), true, 1],
      [() => Promise.reject(notStored()), false, 5], // at 0, 1, 2, 3 and 4 s of forMs = 5 s
    ] as const) {
      const send = sends([answer]);
      const finals: boolean[] = [];
      mailUntilStored(send, {
        retryMs: 1_000,
        forMs: 5_000,
        stopped: () => stopped,
        failed: (_error, final) => finals.push(final),
      });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(send).toHaveBeenCalledTimes(expected);
      expect(finals.at(-1)).toBe(true);
      expect(finals.filter((final) => final)).toHaveLength(1);
    }
  });
});
