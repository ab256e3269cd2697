import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execResult, fixture, runNode } from './attack.js';

/**
 * Issue 8, item 6: workflows whose code never waits are journaled, and the node is started
 * again on that journal: its recovery replays them and must still start, serve other
 * workflows, and report each stalled run as blocked with why and where.
 */

let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'luact-iso-wf-'));
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

function exec(entry: string, ...args: unknown[]) {
  return runNode([
    'run',
    fixture('workflows'),
    '--exec',
    entry,
    ...args.map((arg) => JSON.stringify(arg)),
    '--state-dir',
    stateDir,
  ]);
}

/** The JSON log records on a node's stderr with message `msg`. */
function logs(stderr: string, msg: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.msg === msg);
}

describe('workflows that never wait (issue 8, item 6)', () => {
  it('are blocked, and a node that recovers them still starts and runs other workflows', async () => {
    const first = await exec('iso:start_both');
    expect(execResult(first).ok).toBe(true);

    const second = await exec('iso:run_one', 21);
    expect(execResult(second)).toEqual({ ok: true, value: 42 });
    const blocked = logs(second.stderr, 'workflow blocked');
    expect(blocked.map((record) => record.workflow).sort()).toEqual(['spinner', 'stuck']);
    // Where its last slice of time ended: in spins (lines 5-6), before or inside the loop, as
    // the instruction budget of its first slice falls.
    expect(blocked.find((record) => record.workflow === 'spinner')?.error).toMatch(
      /its code ran 500 ms without waiting at .*flows\.lua:[56] \(the host's task_timeout\)/,
    );
    expect(blocked.find((record) => record.workflow === 'stuck')?.error).toMatch(
      /where it could not be preempted at .*flows\.lua:1 .*max_slice is 300 ms/,
    );
  });
});
