/**
 * The replay rounds of the workflows benchmark (workflows.ts), in a process of their own as a
 * restarted node is (in the benchmark's process, the heap the earlier figures left behind
 * slowed every round down by half): boots a node of the application in `dir` on an empty state
 * three times, then on `stateDir`, which holds the run `replayed`, `rounds` times, each time
 * until that run is live again. Prints {"bootMs": [...], "replayMs": [...]} (boot included).
 * Usage: node <flags> replay-rounds.ts <dir> <state dir> <rounds>, with the application's
 * environment variables (BENCH_NATS_URL) in its own environment.
 */
import path from 'node:path';
import { Node } from '@luact/runtime';

const [dir, stateDir, roundsText] = process.argv.slice(2) as [string, string, string];
const env = { BENCH_NATS_URL: process.env.BENCH_NATS_URL ?? '' };

async function bootUntil(state: string, live: (node: Node) => boolean) {
  const start = process.hrtime.bigint();
  const node = await Node.start({ dir, env, print: () => {}, stateDir: state });
  try {
    while (!live(node)) await new Promise((resolve) => setImmediate(resolve));
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    await node.stop();
  }
}

const bootMs: number[] = [];
for (let round = 0; round < 3; round++)
  bootMs.push(await bootUntil(path.join(dir, `empty-${round}`), () => true));
const replayMs: number[] = [];
for (let round = 0; round < Number(roundsText); round++) {
  replayMs.push(
    await bootUntil(
      stateDir,
      (node) => node.workflows.list().find((w) => w.workflow === 'replayed')?.status === 'running',
    ),
  );
}
console.log(JSON.stringify({ bootMs, replayMs }));
