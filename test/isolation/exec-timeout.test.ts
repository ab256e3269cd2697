import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { luact, type RunningCli, startedByTests } from '../src/luact-cli.js';

// Item 12 of issue 8: `luact run --exec` of an entry that never ends.
const APP = 'test/isolation/fixtures/exec';

// A test starts the real binary up to three times one after the other: generous on a loaded
// 2-core machine (20 s ran out at load 10).
vi.setConfig({ testTimeout: 60_000 });

const clis = startedByTests('luact-exec-');

beforeEach(() => clis.prepare());
afterEach(() => clis.cleanUp());

function start(args: readonly string[]): RunningCli {
  return clis.start(args);
}

const stateDir = () => ['--state-dir', path.join(clis.scratch, 'state')];

/** The one JSON line `--exec` prints on stdout. */
function report(stdout: string): {
  ok: boolean;
  value?: unknown;
  error?: { kind: string; details?: Record<string, unknown> };
} {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string);
}

/** The status of a workflow in the journals of the state directory, as a node started on them says. */
async function statusInState(workflow: unknown): Promise<string> {
  expect(workflow).toEqual(expect.any(String));
  const control = path.join(clis.scratch, 'control.sock');
  const node = start(['run', APP, ...stateDir(), '--control', control]);
  await node.waitFor('stop with Ctrl+C');
  const shown = await luact(['workflow', 'show', String(workflow), '--control', control, '--json']);
  expect(shown.stderr).toBe('');
  node.child.kill('SIGTERM');
  expect(await node.exited).toBe(0);
  return (JSON.parse(shown.stdout) as { status: string }).status;
}

describe('luact run --exec of an entry that never ends', () => {
  it('ends it at --timeout with a TIMEOUT report and exit 1', async () => {
    const run = await luact([
      'run',
      APP,
      ...stateDir(),
      '--exec',
      'exec:sleeper',
      '--timeout',
      '2s',
    ]);
    expect(run.code).toBe(1);
    expect(report(run.stdout)).toEqual({
      ok: false,
      error: expect.objectContaining({
        kind: 'TIMEOUT',
        message: expect.stringContaining('exec:sleeper did not finish within 2s'),
      }),
    });
    expect(run.stderr).toContain('luact: exec:sleeper did not finish within 2s');
  });

  it('reports an entry that waits for what can never come instead of exiting with status 13', async () => {
    const run = await luact(['run', APP, ...stateDir(), '--exec', 'exec:stuck']);
    expect(run.code).toBe(1);
    const { error } = report(run.stdout);
    expect(error).toMatchObject({
      kind: 'TIMEOUT',
      message: expect.stringContaining('can never finish'),
    });
    expect(run.stderr).toContain('exec:stuck can never finish');
  });

  it('lets an entry wait for a message a process on another host sends after a timer', async () => {
    // With LUACT_WORKERS=2 the sender's timer runs on another worker thread than the entry,
    // while the main thread has nothing to do: the node is not idle until that thread is.
    const run = await luact(['run', APP, ...stateDir(), '--exec', 'exec:waits_for_late']);
    expect(run.stderr).not.toContain('can never finish');
    expect(report(run.stdout)).toEqual({ ok: true, value: 'here' });
    expect(run.code).toBe(0);
  });

  it('lets an entry pass messages to and fro with a process on another host, none of them lost to an idle check', async () => {
    // With LUACT_WORKERS=2 both threads are idle most of the time while a message is on its
    // way between them: a check that missed it would end the entry as stuck.
    const run = await luact(['run', APP, ...stateDir(), '--exec', 'exec:volley', '10000']);
    expect(run.stderr).not.toContain('can never finish');
    expect(report(run.stdout)).toEqual({ ok: true, value: 10000 });
    expect(run.code).toBe(0);
  });

  it('refuses a --timeout that is not a duration', async () => {
    const run = await luact(['run', APP, '--exec', 'exec:stuck', '--timeout', '5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"5" is not a duration (add a unit: "5s" or "5ms")');
  });

  it('refuses a --timeout too long for a timer instead of ending the entry at once', async () => {
    const run = await luact(['run', APP, '--exec', 'exec:stuck', '--timeout', '30d']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"30d" is longer than 24 days; 0 means no limit');
  });

  it('terminates the workflow run it started when the time is up, and says so', async () => {
    const run = await luact([
      'run',
      APP,
      ...stateDir(),
      '--exec',
      'exec:slow_flow',
      '--timeout',
      '2s',
    ]);
    expect(run.code).toBe(1);
    const { error } = report(run.stdout);
    expect(error).toMatchObject({
      kind: 'TIMEOUT',
      details: { workflow: expect.stringMatching(/^\{exec:flows\|/), terminated: true },
    });
    expect(run.stderr).toMatch(/its workflow \{exec:flows\|[^}]+\} was terminated/);
    expect(await statusInState(error?.details?.workflow)).toBe('terminated');
  });

  it('leaves the workflow run unfinished with --keep-workflow, and says how to find it', async () => {
    const run = await luact([
      'run',
      APP,
      ...stateDir(),
      '--exec',
      'exec:slow_flow',
      '--timeout',
      '2s',
      '--keep-workflow',
    ]);
    expect(run.code).toBe(1);
    const { error } = report(run.stdout);
    expect(error).toMatchObject({ kind: 'TIMEOUT', details: { terminated: false } });
    expect(run.stderr).toContain('was left unfinished and resumes when the node starts again');
    expect(run.stderr).toContain("luact workflow terminate '{exec:flows|");
    expect(await statusInState(error?.details?.workflow)).toBe('running');
  });

  it('on SIGINT stops the entry, terminates its workflow run and exits 1 with a CANCELED report', async () => {
    const exec = start(['run', APP, ...stateDir(), '--exec', 'exec:slow_flow']);
    await exec.waitForLog({ msg: 'flow sleeping' });
    exec.child.kill('SIGINT');
    expect(await exec.exited).toBe(1);
    const { error } = report(exec.stdout());
    expect(error).toMatchObject({
      kind: 'CANCELED',
      message: expect.stringContaining('SIGINT'),
      details: { terminated: true },
    });
    expect(exec.stderr()).toMatch(/its workflow \{exec:flows\|[^}]+\} was terminated/);
    expect(await statusInState(error?.details?.workflow)).toBe('terminated');
  });

  it('on SIGTERM stops a process entry and exits 1', async () => {
    const exec = start(['run', APP, ...stateDir(), '--exec', 'exec:sleeper']);
    await exec.waitForLog({ msg: 'sleeping' });
    exec.child.kill('SIGTERM');
    expect(await exec.exited).toBe(1);
    expect(report(exec.stdout()).error).toMatchObject({ kind: 'CANCELED' });
  });
});
