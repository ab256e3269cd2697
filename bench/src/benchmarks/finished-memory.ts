/**
 * The memory figure of the workflows benchmark (workflows.ts), in a process of its own so the
 * heap holds nothing of the other figures: how much heap a node keeps per finished 3-step
 * workflow, on a host that keeps every finished run and on one whose `journal.retention`
 * (1 s) removed them. Prints {"keptBytes": n, "expiredBytes": n} (per workflow, after a GC).
 * Usage: node --expose-gc <flags> finished-memory.ts <dir> <workflows>
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeValues } from '@luact/lua';
import { Node } from '@luact/runtime';
import { THREE_STEP_ENTRIES } from './three-steps.js';

const [dir, countText] = process.argv.slice(2) as [string, string];
const count = Number(countText);
const AT_ONCE = 500;

await writeFile(
  path.join(dir, 'app.yaml'),
  `namespace: bench
entries:
  - name: kept
    kind: workflow.host
    journal: { fsync: never }
  - name: expiring
    kind: workflow.host
    journal: { fsync: never, retention: 1s }
${THREE_STEP_ENTRIES}`,
);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const node = await Node.start({ dir, env: {}, print: () => {} });
try {
  const hostOf = (id: string) => {
    const host = node.workflows.host(id);
    if (!host) throw new Error(`no host ${id}`);
    return host;
  };

  async function runMany(hostId: string, total: number): Promise<void> {
    const host = hostOf(hostId);
    for (let first = 0; first < total; first += AT_ONCE) {
      await Promise.all(
        Array.from({ length: Math.min(AT_ONCE, total - first) }, async (_, i) => {
          const pid = await host.start({
            entry: 'bench:three_steps',
            args: encodeValues([first + i]),
            context: {},
            messages: [],
            conflict: 'use_existing',
          });
          await new Promise(
            (resolve, reject) => void host.watchWorkflow(pid, resolve).catch(reject),
          );
        }),
      );
    }
    await host.settled();
  }

  /** Heap per workflow left after running `total` on `hostId` and `afterwards`. */
  async function heapPerWorkflow(hostId: string, afterwards: () => Promise<void>) {
    await runMany(hostId, AT_ONCE); // warm-up: code compiled, pools grown
    await afterwards();
    const before = heapAfterGc();
    await runMany(hostId, count);
    await afterwards();
    return (heapAfterGc() - before) / count;
  }

  const keptBytes = await heapPerWorkflow('bench:kept', async () => {});
  const expiring = hostOf('bench:expiring');
  const expiredBytes = await heapPerWorkflow('bench:expiring', async () => {
    const deadline = Date.now() + 120_000;
    while ((await expiring.journal.ids()).length > 0) {
      if (Date.now() > deadline) throw new Error('the expired runs were not removed in 2 min');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  console.log(JSON.stringify({ keptBytes, expiredBytes }));
} finally {
  await node.stop();
}
