import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PARTITIONS, partitionOf } from '@luact/nats';
import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { afterEach, beforeEach, expect } from 'vitest';
import { logRecords, type RunningCli } from '../src/luact-cli.js';
import { CHAOS_APP, clusterNodes, type ExecNode, type ExecResult } from './cluster-nodes.js';
import type { ViewRecord } from './cluster-streams.js';

/**
 * The workflow load of the chaos tests (`wf:starter` of test/cluster/chaos-app) and what
 * the tests check of it afterwards: its result, every activity run the nodes logged, and the
 * committed views.
 */

/**
 * The setup of a chaos test file: a 3-server NATS cluster per test (nodes of an earlier test,
 * SIGKILLed by its clean-up, would be declared down in the next one) and luact nodes running
 * the chaos application. Nodes pushed to `started` have their logs kept (see keepLogs).
 */
export function chaosSuite(prefix: string) {
  let cluster: NatsClusterHandle | undefined;
  const started: RunningCli[] = [];
  const nodes = clusterNodes(prefix, CHAOS_APP);
  beforeEach(async () => {
    await nodes.prepare();
    cluster = await startNatsCluster({ size: 3 });
  }, 90_000);
  afterEach(async () => {
    try {
      keepLogs(started.splice(0));
    } finally {
      await nodes.cleanUp();
      await cluster?.stop();
    }
  }, 60_000);
  return {
    nodes,
    started,
    /** The current test's NATS cluster. */
    cluster: (): NatsClusterHandle => {
      if (!cluster) throw new Error('no NATS cluster: chaosSuite starts one per test');
      return cluster;
    },
  };
}

/** What `wf:starter` returns. */
export interface StarterOutcome {
  readonly finished: number;
  /** Jobs that ended with an error or another value than their own. */
  readonly wrong: readonly unknown[];
  /** Per job (by its number), the tokens of the two activity runs whose results it got. */
  readonly runs: Readonly<Record<string, readonly [string, string]>>;
  readonly start_retries: number;
  readonly signal_retries: number;
  readonly repeated_exits: number;
  /** Jobs whose EXIT had not come when the starter stopped waiting (a lost signal, a hang). */
  readonly unfinished?: readonly string[];
}

/** The starter's outcome, or an error naming what it printed instead. */
export function starterOutcome(result: ExecResult): StarterOutcome {
  if (!result.ok) throw new Error(`the starter failed: ${JSON.stringify(result.error)}`);
  const outcome = result.value as StarterOutcome;
  // An empty Lua table comes back as {}, not [].
  return {
    ...outcome,
    wrong: Object.values(outcome.wrong),
    unfinished: Object.values(outcome.unfinished ?? {}),
  };
}

/**
 * For a failure message: what the nodes logged about `pids` (jobs that did not finish), and
 * their warnings and errors, so a chaos failure in CI can be read without rerunning it.
 */
function whatNodesSaidOf(pids: readonly string[], clis: readonly RunningCli[]): string {
  if (pids.length === 0) return '';
  // A workflow PID is {host|workflow}: its workflow ID is what the nodes' lines name, and
  // its partition what their lines of ownership name (taken over, moved away, not yet).
  const names = pids.map((pid) => /\|([^}]*)\}$/.exec(pid)?.[1] ?? pid);
  const partitions = names.map((name) => partitionOf(name, DEFAULT_PARTITIONS));
  const ofPartition = new RegExp(`"partition":(${partitions.join('|')})[,}]`);
  // Every line about them (few), then the last of the others' warnings and errors.
  const about: string[] = [];
  const notable: string[] = [];
  for (const cli of clis) {
    for (const line of cli.stderr().split('\n')) {
      if (ofPartition.test(line) || names.some((name) => line.includes(name)))
        about.push(`${cli.child.pid}: ${line}`);
      else if (line.includes('"level":"warn"') || line.includes('"level":"error"'))
        notable.push(`${cli.child.pid}: ${line}`);
    }
  }
  return `unfinished ${names.join(', ')} (partitions ${partitions.join(', ')}); the nodes said of them:\n${about.join('\n')}\nand warned:\n${notable.slice(-100).join('\n')}`;
}

/** One run of `wf:work` as a node logged it. */
interface ActivityRun {
  readonly key: string;
  readonly run: string;
  readonly at: number;
}

/**
 * The starter's result once it ended, with what every chaos test asserts of it: every one of
 * `jobs` ended once with its own result, and every activity run the nodes logged is accounted
 * for, none of them after its result was journaled.
 */
export async function checkedLoad(
  starter: ExecNode,
  clis: readonly RunningCli[],
  jobs: number,
): Promise<{ outcome: StarterOutcome; runs: ReturnType<typeof activityRuns> }> {
  const { code, result } = await starter.result();
  expect(code, starter.cli.stderr()).toBe(0);
  const outcome = starterOutcome(result);
  expect(outcome.unfinished, whatNodesSaidOf(outcome.unfinished ?? [], clis)).toEqual([]);
  expect(outcome.wrong).toEqual([]);
  expect(outcome.finished).toBe(jobs);
  expect(Object.keys(outcome.runs)).toHaveLength(jobs);
  const runs = activityRuns(outcome, clis);
  expect(runs.unlogged).toEqual([]);
  expect(runs.afterKept).toEqual([]);
  return { outcome, runs };
}

/**
 * Activity runs checked against the results the jobs got (the runs their journals kept):
 * `repeated` counts runs beyond one per activity (a run whose result was not journaled, run
 * again: allowed); `afterKept` lists runs of an activity that started at or after the run
 * whose result was kept — a completed activity run again, or two nodes driving one job;
 * `unlogged` lists kept runs no node logged.
 */
export function activityRuns(
  outcome: StarterOutcome,
  clis: readonly RunningCli[],
): { total: number; repeated: number; afterKept: string[]; unlogged: string[] } {
  const byActivity = new Map<string, ActivityRun[]>();
  for (const cli of clis) {
    for (const record of logRecords(cli.stderr())) {
      if (record.msg !== 'activity ran') continue;
      const key = `${record.i}/${record.step}`;
      const runs = byActivity.get(key) ?? [];
      runs.push({ key, run: String(record.run), at: Date.parse(String(record.time)) });
      byActivity.set(key, runs);
    }
  }
  let total = 0;
  let repeated = 0;
  const afterKept: string[] = [];
  const unlogged: string[] = [];
  for (const [job, tokens] of Object.entries(outcome.runs)) {
    tokens.forEach((token, index) => {
      const key = `${job}/${index + 1}`;
      const runs = byActivity.get(key) ?? [];
      total += runs.length;
      repeated += Math.max(0, runs.length - 1);
      const kept = runs.find((run) => run.run === token);
      if (kept === undefined) {
        unlogged.push(`${key} (${token})`);
        return;
      }
      for (const run of runs)
        if (run !== kept && run.at >= kept.at)
          afterKept.push(`${key}: ${run.run} at ${run.at}, kept ${kept.run} at ${kept.at}`);
    });
  }
  return { total, repeated, afterKept, unlogged };
}

/** Views that dropped a member without it leaving (declared down or replaced). */
export function viewsWithDowns(views: readonly ViewRecord[]): ViewRecord[] {
  return views.filter((view) => view.changes.some((change) => change.kind === 'down'));
}

/**
 * Partitions each view moved away from an owner that is still a member with the same
 * incarnation (moves for balance, which the placement bounds per view), by view version.
 */
export function balanceMoves(views: readonly ViewRecord[]): Map<number, number> {
  const moves = new Map<number, number>();
  for (let i = 1; i < views.length; i++) {
    const before = views[i - 1] as ViewRecord;
    const view = views[i] as ViewRecord;
    let moved = 0;
    for (const [queue, owners] of Object.entries(view.owners)) {
      owners.forEach((owner, partition) => {
        const previous = before.owners[queue]?.[partition];
        if (previous === undefined || previous.node === owner.node) return;
        if (view.members[previous.node]?.incarnation === previous.incarnation) moved++;
      });
    }
    moves.set(view.version, moved);
  }
  return moves;
}

/**
 * With `LUACT_KEEP_LOGS=DIR` set, writes what each of `clis` logged to `DIR/<pid>.log`, to look
 * at after a failure (the test's scratch directory is removed).
 */
export function keepLogs(clis: readonly RunningCli[]): void {
  const dir = process.env.LUACT_KEEP_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const cli of clis) writeFileSync(path.join(dir, `${cli.child.pid}.log`), cli.stderr());
}
