import { MemoryJournal } from '@luact/journal';
import { afterEach, describe, expect, it } from 'vitest';
import { type Node, node, until, workflow } from './testing/harness.js';

/**
 * Issue 8, item 6: a run whose code never waits cannot hold the host, nor its recovery.
 * It is blocked (not failed: nothing is journaled, so fixed code resumes it) with the reason
 * and the place it was running, and an operator can terminate it.
 */

const nodes: Node[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

const ENTRIES = {
  // Line 3 computes for ever, where the scheduler can preempt it.
  'app:spins': workflow(
    'local n = 0\nreturn { main = function()\n  while true do n = n + 1 end\nend }',
  ),
  // Line 3 loops in a metamethod called from C, where nothing can preempt it.
  'app:stuck': workflow(
    'local function spin() while true do end end\nreturn { main = function()\n  return table.concat(setmetatable({}, { __index = spin, __len = function() return 1 end }))\nend }',
  ),
  'app:fine': workflow('return { main = function(x) return x * 2 end }'),
};

async function start(journal = new MemoryJournal()): Promise<Node> {
  const n = await node(ENTRIES, { journal, taskTimeoutMs: 300, limits: { max_slice: 200 } });
  nodes.push(n);
  return n;
}

function status(n: Node, workflow: string) {
  return n.host.list().find((summary) => summary.workflow === workflow);
}

describe('a run whose code does not wait', () => {
  it('is blocked after task_timeout with the line it was running, while other runs go on', async () => {
    const n = await start();
    await n.start('app:spins', [], { workflow: 'spinner' });
    expect(await n.run('app:fine', [21])).toEqual({ ok: true, value: 42 });
    await until(() => status(n, 'spinner')?.status === 'blocked', 'the spinner is blocked');
    expect(status(n, 'spinner')?.problem).toMatch(
      /^workflow spinner: its code ran 300 ms without waiting at app:spins\.lua:3 \(the host's task_timeout\)/,
    );
    expect(n.logs.some((record) => record.message === 'workflow blocked')).toBe(true);
  });

  it('is blocked, not failed, when the VM stops it where it could not be preempted', async () => {
    const n = await start();
    await n.start('app:stuck', [], { workflow: 'stuck' });
    await until(() => status(n, 'stuck')?.status === 'blocked', 'the stuck run is blocked');
    expect(status(n, 'stuck')?.problem).toMatch(
      /^stopped after running \d+ ms where it could not be preempted at app:stuck\.lua:1 /,
    );
  });

  it('is blocked again after a restart, without holding up the recovery of the others', async () => {
    const journal = new MemoryJournal();
    const first = await start(journal);
    await first.start('app:spins', [], { workflow: 'spinner' });
    await until(() => status(first, 'spinner')?.status === 'blocked', 'the spinner is blocked');
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);

    const second = await start(journal);
    expect(await second.run('app:fine', [2])).toEqual({ ok: true, value: 4 });
    await until(() => status(second, 'spinner')?.status === 'blocked', 'blocked again');
  });

  it('can be terminated once blocked', async () => {
    const n = await start();
    const pid = await n.start('app:spins', [], { workflow: 'spinner' });
    await until(() => status(n, 'spinner')?.status === 'blocked', 'the spinner is blocked');
    await n.host.terminateWorkflow('spinner', 'operator');
    expect(await n.result(pid)).toMatchObject({ ok: false, error: { message: 'terminated' } });
    expect(status(n, 'spinner')?.status).toBe('terminated');
  });
});
