import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * The wall clock of a node with worker threads is one: every thread counts from the anchor the
 * node took. The machine's clock moving between the node's start and its workers' (stepped or
 * slewed, as a VM's is) is played here by the main thread's Date.now running an hour ahead
 * while the node starts: the workers' own Date.now does not, so a worker that took its own
 * anchor would read the time an hour behind the main thread's.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host:
      workers: 2
  - name: now
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function() return time.now():unix() end }
`;

const HOUR_MS = 3_600_000;

let dir: string;
let node: Node | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-clock-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  const realNow = Date.now;
  const ahead = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + HOUR_MS);
  try {
    node = await Node.start({ dir, env: {}, print: () => {} });
  } finally {
    ahead.mockRestore();
  }
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function secondsOn(host: string): Promise<number> {
  const outcome = await (node as Node).run('app:now', [], { timeoutMs: 15_000, host });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as number;
}

describe('the clock of a node with worker threads', () => {
  it('reads the same time on a worker thread as on the main thread', async () => {
    expect((node as Node).workers?.threadCount).toBe(2);
    const onMain = await secondsOn('luact:main');
    const onWorker = await secondsOn('app:w2');
    const after = await secondsOn('luact:main');
    // Both count from the anchor the node took (an hour ahead of this machine's clock).
    expect(onMain).toBeGreaterThan(Date.now() / 1000 + HOUR_MS / 1000 - 60);
    expect(onWorker).toBeGreaterThanOrEqual(onMain);
    expect(onWorker).toBeLessThanOrEqual(after);
  });
});
