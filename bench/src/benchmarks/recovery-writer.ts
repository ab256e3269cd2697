/**
 * The node the recovery benchmark kills (workflows.ts): starts `count` workflows on host
 * bench:batch of the application in `dir`, each waiting for a message, prints `ready` once all
 * of them wait and their journals are written, then waits to be killed with SIGKILL.
 * Usage: node <flags> recovery-writer.ts <dir> <state dir> <count>, with the application's
 * environment variables (BENCH_NATS_URL) in its own environment.
 */
import { encodeValues } from '@luact/lua';
import { Node } from '@luact/runtime';

const [dir, stateDir, countText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const env = { BENCH_NATS_URL: process.env.BENCH_NATS_URL ?? '' };
const node = await Node.start({ dir, env, print: () => {}, stateDir });
const host = node.workflows.host('bench:batch');
if (!host) throw new Error('no host bench:batch');
const BATCH = 500;
for (let first = 0; first < count; first += BATCH) {
  await Promise.all(
    Array.from({ length: Math.min(BATCH, count - first) }, (_, i) =>
      host.start({
        workflow: `waiting-${first + i}`,
        entry: 'bench:waiter',
        args: encodeValues([first + i]),
        context: {},
        messages: [],
        conflict: 'use_existing',
      }),
    ),
  );
}
while (!node.workflows.list().every((w) => w.status === 'running'))
  await new Promise((resolve) => setTimeout(resolve, 10));
await host.settled();
process.stdout.write('ready\n');
await new Promise(() => {}); // until killed
