import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { RunningCli } from '../src/luact-cli.js';
import { clusterSuite } from './cluster-nodes.js';

/**
 * T8 through Lua: node rm-a sends 1, 2, 3, … to `{rm-b@|keeper}` (the service keeper of node
 * rm-b, by its name there) while rm-b is stopped (SIGTERM) and started again, then killed
 * (SIGKILL) and started again. The mail sent meanwhile waits in rm-b's mail and reaches the
 * keeper of its next run. Each run of rm-b prints what its keeper kept.
 *
 * A clean stop loses nothing: the keeper takes what is in its mailbox when asked to stop, and
 * mail to its name after that is left for the next run. A SIGKILL loses what the killed run had
 * already put in its keeper's mailbox (as a crashed process loses its mailbox), and what it had
 * handed over without acknowledging yet comes again; everything sent after it died arrives,
 * once and in order.
 */

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'restart-mail-app');
/** Messages each run of rm-b keeps before the test moves on: rm-a is sending all along. */
const PER_RUN = 30;

const { nodes, server } = clusterSuite('luact-cluster-restart-mail-', APP);

/** The numbers a run of rm-b kept, in the order it kept them. */
function kept(cli: RunningCli): number[] {
  return [...cli.stdout().matchAll(/^kept (\d+)$/gm)].map((match) => Number(match[1]));
}

/** When each send of the sender returned true (Unix ms), by its number. */
function sendTimes(cli: RunningCli): Map<number, number> {
  return new Map(
    [...cli.stdout().matchAll(/^sent (\d+) (\d+)$/gm)].map((match) => [
      Number(match[1]),
      Number(match[2]),
    ]),
  );
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

it('delivers the mail sent to a named service while its node restarts: across a clean restart all of it once, in order; across a SIGKILL all that was sent after the death, once, in order', async () => {
  const url = [server().url];
  const first = await nodes.serve('rm-b', url);
  const a = nodes.exec('rm-a', url, 'rm:sender', ['rm-b', '10ms']);
  await expect.poll(() => kept(first).length, { timeout: 60_000 }).toBeGreaterThan(PER_RUN);

  first.child.kill('SIGTERM');
  expect(await first.exited, first.stderr()).toBe(0);
  const second = await nodes.serve('rm-b', url);
  await expect.poll(() => kept(second).length, { timeout: 60_000 }).toBeGreaterThan(PER_RUN);

  second.child.kill('SIGKILL');
  await second.exited;
  const diedBy = Date.now();
  const third = await nodes.serve('rm-b', url);
  await expect.poll(() => kept(third).length, { timeout: 60_000 }).toBeGreaterThan(PER_RUN);

  // The sender stops when told, by its name on its node.
  const stop = await nodes.exec('rm-c', url, 'rm:stop_sender', ['rm-a']).result();
  expect(stop.result, JSON.stringify(stop)).toEqual({ ok: true, value: true });
  const { result } = await a.result();
  expect(result.ok, a.cli.stderr()).toBe(true);
  const sent = (result.value as { sent?: number }).sent;
  expect(result.value, 'every send returned true').toEqual({ sent: expect.any(Number) });
  await expect.poll(() => kept(third).at(-1), { timeout: 60_000 }).toBe(sent);

  const [one, two, three] = [kept(first), kept(second), kept(third)];
  // Across the clean restart: once each, in order, none lost.
  expect(one).toEqual(range(1, one.length));
  expect(two).toEqual(range(one.length + 1, one.length + two.length));
  // Across the SIGKILL: the next run keeps a gapless run of numbers up to the last one sent,
  // from before the first send that began after rm-b had died (the send after one that
  // returned after that).
  const from = three[0] as number;
  expect(three).toEqual(range(from, sent as number));
  const returned = sendTimes(a.cli);
  const firstAfterDeath = Math.min(
    ...[...returned].filter(([, at]) => at >= diedBy).map(([n]) => n + 1),
  );
  expect(from).toBeLessThanOrEqual(firstAfterDeath);
  const last = one.length + two.length;
  console.log(
    `T8: ${sent} sent; kept ${one.length}, ${two.length}, ${three.length}; after the SIGKILL ${Math.max(0, from - last - 1)} lost from the killed run's mailbox, ${Math.max(0, last + 1 - from)} again`,
  );
}, 120_000);
