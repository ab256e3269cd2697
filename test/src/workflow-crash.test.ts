import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { queryControl } from '@luact/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logRecords, luact, type RunningCli, startLuact } from './luact-cli.js';

/**
 * Crash tests (issue 5): a real `luact run` child process is SIGKILLed at a chosen point and
 * started again on the same state directory. Every workflow must end with the result an
 * uncrashed run gives, no finished activity may run again, and no accepted signal may be lost.
 */

let scratch: string;
let control: string;
const nodes: RunningCli[] = [];

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-crash-'));
  control = path.join(scratch, 'control.sock');
});

afterEach(async () => {
  for (const node of nodes.splice(0)) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
  }
  await rm(scratch, { recursive: true, force: true });
});

async function startNode(): Promise<RunningCli> {
  const node = startLuact([
    'run',
    'test/fixtures/crash',
    '--state-dir',
    path.join(scratch, 'state'),
    '--control',
    control,
    '--node',
    'crash',
  ]);
  nodes.push(node);
  await node.waitFor('stop with Ctrl+C');
  return node;
}

async function crash(node: RunningCli): Promise<void> {
  node.child.kill('SIGKILL');
  await node.exited;
}

async function cli(...args: string[]): Promise<string> {
  const run = await luact([...args, '--control', control]);
  if (run.code !== 0) throw new Error(`luact ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

/** Starts crash:flow with `id` and its arguments on the running node. */
async function startFlow(id: string, steps: number, ms: number, sleep: number, waitForGo: boolean) {
  await cli(
    'workflow',
    'start',
    'crash:flow',
    id,
    String(steps),
    String(ms),
    String(sleep),
    String(waitForGo),
    '--id',
    id,
  );
}

/**
 * Waits (bounded) for a workflow to end and returns how. It asks the node's control socket
 * itself: a `luact` process per poll would load the machine it waits for.
 */
async function ended(
  id: string,
  timeoutMs = 60_000,
): Promise<{ status: string; result?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = (await queryControl(control, '/workflow', { query: { id } })) as {
      status: string;
      ended?: { value?: unknown };
    };
    if (shown.status !== 'running' && shown.status !== 'replaying')
      return { status: shown.status, result: shown.ended?.value };
    if (Date.now() > deadline) throw new Error(`workflow ${id} still ${shown.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How often each log message was logged for workflow `id`, by step, over `nodes`. */
function logged(message: string, id: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const node of nodes) {
    for (const record of logRecords(node.stderr())) {
      if (record.msg === message && record.id === id && typeof record.step === 'number')
        counts.set(record.step, (counts.get(record.step) ?? 0) + 1);
    }
  }
  return counts;
}

/** What crash:flow returns when nothing goes wrong (step 99 runs after a "go"). */
const uncrashed = (id: string, steps: number, go: string) => ({
  id,
  total: (steps * (steps + 1) * 10) / 2 + (go === 'not asked' ? 0 : 990),
  go,
});

// Each test starts `luact` processes and restarts a node: on a loaded machine that takes far
// longer than the default bound, and these tests check outcomes, not speed.
describe('a workflow node killed with SIGKILL and started again', { timeout: 180_000 }, () => {
  it('ends a workflow as an uncrashed run does (the baseline)', async () => {
    await startNode();
    await startFlow('baseline', 3, 20, 50, false);
    expect(await ended('baseline')).toEqual({
      status: 'completed',
      result: uncrashed('baseline', 3, 'not asked'),
    });
    expect([...logged('activity done', 'baseline').values()]).toEqual([1, 1, 1]);
  });

  it('killed while an activity runs (its result not yet journaled): that activity runs again, the others do not', async () => {
    const first = await startNode();
    await startFlow('in-flight', 3, 400, 0, false);
    await first.waitForLog({ msg: 'activity start', id: 'in-flight', step: 2 });
    await crash(first);
    await startNode();
    expect(await ended('in-flight')).toEqual({
      status: 'completed',
      result: uncrashed('in-flight', 3, 'not asked'),
    });
    expect(logged('activity start', 'in-flight')).toEqual(
      new Map([
        [1, 1],
        [2, 2],
        [3, 1],
      ]),
    );
    expect(logged('activity done', 'in-flight')).toEqual(
      new Map([
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
    );
  });

  it('killed right after a result was journaled: no activity runs twice', async () => {
    const first = await startNode();
    await startFlow('after-result', 3, 100, 0, false);
    await first.waitForLog({ msg: 'step journaled', id: 'after-result', step: 2 });
    await crash(first);
    await startNode();
    expect(await ended('after-result')).toEqual({
      status: 'completed',
      result: uncrashed('after-result', 3, 'not asked'),
    });
    expect(logged('activity done', 'after-result')).toEqual(
      new Map([
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
    );
  });

  it('killed during a timer: the timer fires after the restart', async () => {
    const first = await startNode();
    // Long enough that the kill, right after the "sleeping" log, comes before the timer is due
    // even on a loaded machine (this test checks that the second node fires it).
    await startFlow('timer', 1, 0, 5000, false);
    await first.waitForLog({ msg: 'sleeping', id: 'timer' });
    await crash(first);
    const second = await startNode();
    expect(await ended('timer')).toEqual({
      status: 'completed',
      result: uncrashed('timer', 1, 'not asked'),
    });
    expect(logRecords(second.stderr())).toContainEqual(
      expect.objectContaining({ msg: 'woke', id: 'timer' }),
    );
    expect(logged('activity done', 'timer')).toEqual(new Map([[1, 1]]));
  });

  it('killed right after a signal was accepted: the signal is not lost', async () => {
    const first = await startNode();
    // The activity after the signal keeps the run busy while the node is killed.
    await startFlow('signal', 1, 400, 0, true);
    await first.waitForLog({ msg: 'waiting for go', id: 'signal' });
    await cli('workflow', 'signal', 'signal', 'go', 'approved');
    await crash(first);
    await startNode();
    expect(await ended('signal')).toEqual({
      status: 'completed',
      result: uncrashed('signal', 1, 'approved'),
    });
  });

  it('killed in the middle of many appends: every workflow ends right, only activities in flight ran twice', async () => {
    const first = await startNode();
    const ids = Array.from({ length: 8 }, (_, i) => `busy-${i}`);
    await Promise.all(ids.map((id) => startFlow(id, 20, 0, 0, false)));
    await first.waitForLog({ msg: 'step journaled', id: 'busy-0', step: 5 });
    await crash(first);
    await startNode();
    for (const id of ids) {
      expect(await ended(id)).toEqual({
        status: 'completed',
        result: uncrashed(id, 20, 'not asked'),
      });
      const done = logged('activity done', id);
      expect(done.size).toBe(20);
      // At most the one activity in flight at the kill ran twice.
      expect([...done.values()].filter((count) => count > 1).length).toBeLessThanOrEqual(1);
      expect(Math.max(...done.values())).toBeLessThanOrEqual(2);
    }
  });
});
