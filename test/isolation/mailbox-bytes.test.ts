import { afterEach, describe, expect, it } from 'vitest';
import { mailboxNode } from './mailbox-harness.js';

/**
 * Item 8 of issue 8: 2,000 messages of 1 MB to a process that did not receive them reached
 * 2.6 GB RSS, because the mailbox limit counted messages only. Mailboxes count bytes too.
 */

const MAX_MAILBOX_BYTES = 64 * 1024 * 1024;
const MB = 1_000_000;

let stop: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('a flood of 1 MB messages to a process that does not receive', () => {
  it('is refused with RATE_LIMITED before the mailbox holds more than max_mailbox_bytes; every accepted message is delivered in order', async () => {
    const t = await mailboxNode();
    stop = t.stop;
    const sink = await t.spawn('mbx:sink', 'mbx:host');
    const flood = (await t.run('mbx:flood', 'mbx:host', sink)) as {
      accepted: number;
      kind?: string;
      message?: string;
      retryable?: boolean;
    };
    expect(flood).toEqual({
      accepted: expect.any(Number),
      kind: 'RateLimited',
      retryable: true,
      message: expect.stringMatching(
        new RegExp(
          `^mailbox of ${sink.replace(/[{}|]/g, '\\$&')} is full: it holds \\d+ bytes not yet received, and a message of 10000\\d\\d bytes would pass host mbx:host's limit of ${MAX_MAILBOX_BYTES} bytes \\(max_mailbox_bytes\\)$`,
        ),
      ),
    });
    // As many as fit, and no more: each weighs its topic (4 bytes) and payload (1 MB and the
    // 7 bytes of msgpack around it).
    expect(flood.accepted).toBe(Math.floor(MAX_MAILBOX_BYTES / (MB + 11)));
    // Asked of the thread that runs the sink, as `luact ps` asks it.
    const queued = (await t.node.processInfo(sink))?.mailbox_bytes ?? Number.NaN;
    expect(queued).toBeLessThanOrEqual(MAX_MAILBOX_BYTES);
    expect(queued).toBeGreaterThan(MAX_MAILBOX_BYTES - 2 * MB);

    // The sink takes its mail at last: all of it, in send order.
    const drained = t.outcome(sink);
    await t.node.send(sink, 'drain');
    expect(await drained).toEqual({ counts: [flood.accepted], in_order: true });
  });

  it('takes mail again once the receiver has taken what it held', async () => {
    const t = await mailboxNode();
    stop = t.stop;
    const sink = await t.spawn('mbx:sink', 'mbx:host', 2);
    const drained = t.outcome(sink);
    const first = await t.run('mbx:flood', 'mbx:host', sink);
    await t.node.send(sink, 'drain');
    await until(async () => (await t.node.processInfo(sink))?.mailbox === 0);
    const second = await t.run('mbx:flood', 'mbx:host', sink);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ kind: 'RateLimited' });
    await t.node.send(sink, 'drain');
    const { accepted } = first as { accepted: number };
    expect(await drained).toEqual({ counts: [accepted, accepted], in_order: true });
  });
});

/** Polls `done` every 10 ms, for at most 10 s. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await done()) return;
    await new Promise((ok) => setTimeout(ok, 10));
  }
  throw new Error('the condition did not hold within 10 s');
}
