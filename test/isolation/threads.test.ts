import { afterEach, expect, it } from 'vitest';
import { mailboxNode } from './mailbox-harness.js';

/**
 * The isolation suite runs twice in `npm test`: as it is, and with LUACT_WORKERS=2 (project
 * isolation-workers). This says which, so that a run meant for worker threads cannot pass on
 * the main thread alone unnoticed.
 */

let stop: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stop?.();
  stop = undefined;
});

it('runs its nodes on worker threads exactly when LUACT_WORKERS asks for more than one', async () => {
  const t = await mailboxNode();
  stop = t.stop;
  const asked = Number(process.env.LUACT_WORKERS ?? 1);
  if (asked > 1) expect(t.node.workers?.threadCount ?? 0).toBeGreaterThanOrEqual(2);
  else expect(t.node.workers).toBeUndefined();
});
