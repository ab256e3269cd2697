import { expect, it } from 'vitest';
import type { RunningCli } from '../src/luact-cli.js';
import { downViews, type ExecNode } from './cluster-nodes.js';
import {
  journalEntries,
  readViews,
  type ViewRecord,
  waitForStreamLeader,
  withNats,
} from './cluster-streams.js';
import { balanceMoves, chaosSuite, checkedLoad, viewsWithDowns } from './workflow-load.js';

/**
 * T9: a node joins, or leaves gracefully, while hundreds of jobs are in flight (each a timer,
 * an activity, a signal, a long timer and another activity). Every job finishes once with its
 * own result, no activity whose result was journaled runs again, each view moves at most k =
 * 8 partitions away from owners that stay, and in every partition of the journal stream the
 * epochs of the entries only grow.
 */

const R3 = ['--replicas', '3'];
const HOST = 'wf:flows';
const JOURNAL_STREAM = 'LUACT_JOURNAL_WF_FLOWS';
/** The membership's `maxMovesPerView` default. */
const K = 8;
const JOBS = 300;

const { nodes, started, cluster } = chaosSuite('luact-cluster-join-');

/** Entries of each partition written at a lower epoch than an entry stored before them. */
function epochsGoingBack(partitions: Map<number, { seq: number; epoch: number }[]>): string[] {
  const found: string[] = [];
  for (const [partition, entries] of partitions) {
    let highest = 0;
    for (const entry of entries) {
      if (entry.epoch < highest)
        found.push(
          `partition ${partition}: seq ${entry.seq} at epoch ${entry.epoch} after ${highest}`,
        );
      highest = Math.max(highest, entry.epoch);
    }
  }
  return found;
}

/** Checks what the load left behind: results, activity runs, views and the journal stream. */
async function checkLoad(
  starter: ExecNode,
  clis: readonly RunningCli[],
  annotate: (note: string) => Promise<unknown>,
) {
  const { outcome, runs } = await checkedLoad(starter, clis, JOBS);
  expect(outcome.repeated_exits).toBe(0);

  const { views, partitions, closeMarkers } = await withNats(
    cluster().urls,
    async (connection) => ({
      views: await readViews(connection),
      ...(await journalEntries(connection, HOST)),
    }),
  );
  // Each job's one run was closed once.
  expect(closeMarkers).toBe(JOBS);
  expect(downViews(...clis)).toEqual([]);
  expect(viewsWithDowns(views)).toEqual([]);
  // The audits below read something: the views of the whole test and every job's journal.
  expect(views.length).toBeGreaterThan(2);
  const entries = [...partitions.values()].reduce((n, list) => n + list.length, 0);
  expect(entries).toBeGreaterThanOrEqual(4 * JOBS);
  const moves = balanceMoves(views);
  expect(
    [...moves.values()].every((moved) => moved <= K),
    JSON.stringify([...moves]),
  ).toBe(true);
  expect(epochsGoingBack(partitions)).toEqual([]);
  await annotate(
    `${runs.total} activity runs for ${2 * JOBS} activities (${runs.repeated} ran again); ${views.length} views, balance moves per view ${JSON.stringify([...moves.values()])}; ${entries} journal entries in ${partitions.size} partitions`,
  );
  return views;
}

/** The owners of `queue` per node in `view`. */
function ownedBy(view: ViewRecord | undefined, node: string): number {
  return (view?.owners[HOST] ?? []).filter((owner) => owner.node === node).length;
}

it('finishes every job once, moves at most k partitions per view and keeps epochs growing when a node joins under load', async ({
  annotate,
}) => {
  const servers = cluster().urls;
  const a = await nodes.serve('join-a', servers, R3);
  await waitForStreamLeader(servers, JOURNAL_STREAM);
  const starter = nodes.exec(
    'join-b',
    servers,
    'wf:starter',
    ['join', JOBS, '20s', '0s', '120s'],
    R3,
  );
  started.push(a, starter.cli);
  await starter.cli.waitForLog({ msg: 'started', count: 160 }, 120_000);
  const c = await nodes.serve('join-c', servers, R3);
  started.push(c);
  const views = await checkLoad(starter, [a, starter.cli, c], annotate);
  // The joiner got its share, partitions moving for balance over several views.
  expect(ownedBy(views.at(-1), 'join-c')).toBeGreaterThan(0);
  expect(Math.max(...balanceMoves(views).values())).toBeGreaterThan(0);
  expect(c.child.exitCode).toBeNull();
}, 240_000);

it('finishes every job once and keeps epochs growing when a node leaves gracefully under load', async ({
  annotate,
}) => {
  const servers = cluster().urls;
  const a = await nodes.serve('leave-a', servers, R3);
  await waitForStreamLeader(servers, JOURNAL_STREAM);
  const c = await nodes.serve('leave-c', servers, R3);
  const starter = nodes.exec(
    'leave-b',
    servers,
    'wf:starter',
    ['leave', JOBS, '20s', '0s', '120s'],
    R3,
  );
  started.push(a, c, starter.cli);
  await starter.cli.waitForLog({ msg: 'started', count: 160 }, 120_000);
  c.child.kill('SIGTERM');
  expect(await c.exited, c.stderr()).toBe(0);
  expect(c.stderr()).toContain('left the cluster');
  const views = await checkLoad(starter, [a, starter.cli, c], annotate);
  expect(
    views.some((view) =>
      view.changes.some((change) => change.kind === 'left' && change.node === 'leave-c'),
    ),
  ).toBe(true);
}, 240_000);
