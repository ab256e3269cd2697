import { MemoryJournal } from '@luact/journal';
import { encodeValues, ManualClock } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { expiredRuns } from './retention.js';
import { type Node, node, until, workflow } from './testing/harness.js';

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

const MINUTE = 60_000;

const ENTRIES = {
  'app:flow': workflow(
    `local funcs = require("funcs")
     return { main = function(i) return funcs.call("step", i) end }`,
    ['funcs'],
  ),
  // Continues as new once, then waits for a message.
  'app:waiter': workflow(
    `return { main = function(again)
       if again then return process.upgrade(nil, false) end
       return process.listen("go"):receive()
     end }`,
  ),
};

/** A node whose workflow host keeps ended runs' journals for a minute, on a manual clock. */
async function nodeKeepingAMinute(journal = new MemoryJournal()) {
  const clock = new ManualClock();
  const calls: number[] = [];
  const n = await node(ENTRIES, {
    clock,
    journal,
    retentionMs: MINUTE,
    functions: {
      'app:step': async (_call, i) => {
        calls.push(Number(i));
        return Number(i) * 2;
      },
    },
  });
  nodes.push(n);
  const streams = async () => (await journal.ids()).map((stream) => stream.id).sort();
  return { n, clock, calls, streams };
}

describe('journal retention', () => {
  it("removes the journals of runs that ended more than the retention ago, on the host's own timer", async () => {
    const { n, clock, streams } = await nodeKeepingAMinute();
    for (const id of ['old1', 'old2']) await n.run('app:flow', [1], { workflow: id });
    clock.advance(MINUTE / 2);
    await n.run('app:flow', [2], { workflow: 'young' });
    await n.host.settled();
    expect(await streams()).toEqual(['old1~1', 'old2~1', 'young~1']);

    clock.advance(MINUTE / 2 + 1_000); // the sweep every 6 s has come since old* turned 1 min
    await until(async () => (await streams()).length === 1, 'the old runs are removed');
    expect(await streams()).toEqual(['young~1']);
    expect(n.host.list().map((run) => run.workflow)).toEqual(['young']);
    expect(n.host.knows('old1')).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        n.host.watchWorkflow('{app:flows|old1}', resolve).catch(reject);
      }),
    ).rejects.toMatchObject({ kind: 'NOT_FOUND' });

    clock.advance(MINUTE);
    await until(async () => (await streams()).length === 0, 'the young run is removed');
  });

  it('begins a removed workflow at run 1 again, and a keyed start repeated after its run was removed starts a new run', async () => {
    const { n, clock, calls, streams } = await nodeKeepingAMinute();
    const keyed = {
      workflow: 'keyed',
      entry: 'app:flow',
      args: encodeValues([7]),
      context: {},
      messages: [],
      conflict: 'fail' as const,
      key: 'request-1',
    };
    const pid = await n.host.start(keyed);
    expect(await n.result(pid)).toEqual({ ok: true, value: 14 });
    await n.host.settled();
    expect(await n.host.start(keyed)).toBe(pid); // within the retention: the same run
    expect(calls).toEqual([7]);

    clock.advance(MINUTE + 10_000);
    await until(async () => (await streams()).length === 0, 'the run is removed');
    expect(await n.host.start(keyed)).toBe(pid);
    expect(await n.result(pid)).toEqual({ ok: true, value: 14 });
    expect(calls).toEqual([7, 7]);
    expect(await streams()).toEqual(['keyed~1']);
    expect(n.host.list()).toMatchObject([{ workflow: 'keyed', run: 1, status: 'completed' }]);
  });

  it('keeps a running run, and removes the earlier runs of a workflow that continued as new', async () => {
    const { n, clock, streams } = await nodeKeepingAMinute();
    const pid = await n.start('app:waiter', [true], { workflow: 'w' });
    await until(async () => (await streams()).length === 2, 'the run continued as new');

    clock.advance(2 * MINUTE);
    await until(async () => (await streams()).length === 1, 'the first run is removed');
    expect(await streams()).toEqual(['w~2']);
    expect(n.host.list()).toMatchObject([{ workflow: 'w', run: 2, status: 'running' }]);

    await n.host.send({ to: pid, from: undefined, topic: 'go', payload: encodeValues(['on']) });
    expect(await n.result(pid)).toEqual({ ok: true, value: 'on' });
  });

  it('removes nothing of the workflows the host no longer drives (their partition moved)', async () => {
    const { n, clock, streams } = await nodeKeepingAMinute();
    await n.run('app:flow', [1], { workflow: 'moved' });
    await n.run('app:flow', [1], { workflow: 'stays' });
    await n.host.settled();
    n.host.release((workflow) => workflow === 'moved');
    clock.advance(2 * MINUTE);
    await until(async () => (await streams()).length === 1, 'the run it drives is removed');
    expect(await streams()).toEqual(['moved~1']);
    expect(await n.host.removeExpired()).toBe(0);
  });

  it('never removes a run it still drives, even one a listing reports closed long ago', async () => {
    // As a JetStream journal lists a run whose zombie owner's close lost a fork: its marker
    // says closed, its journal is open, and this host runs it on.
    const journal = new (class extends MemoryJournal {
      override async listClosed() {
        const closed = await super.listClosed();
        return [
          ...closed,
          {
            id: 'live~1',
            summary: { entry: 'app:waiter', status: 'failed', startedAt: 0, endedAt: 0 },
          },
        ];
      }
    })();
    const { n, clock, streams } = await nodeKeepingAMinute(journal);
    const pid = await n.start('app:waiter', [false], { workflow: 'live' });
    await n.host.settled();
    clock.advance(2 * MINUTE);
    expect(await n.host.removeExpired()).toBe(0);
    expect(await streams()).toEqual(['live~1']);
    await n.host.send({ to: pid, from: undefined, topic: 'go', payload: encodeValues(['on']) });
    expect(await n.result(pid)).toEqual({ ok: true, value: 'on' });
  });

  it('logs a removal that fails, and the next sweep removes the run', async () => {
    let failures = 1;
    const journal = new (class extends MemoryJournal {
      override async remove(id: string): Promise<void> {
        if (failures-- > 0) throw new Error('disk on fire');
        return super.remove(id);
      }
    })();
    const { n, clock, streams } = await nodeKeepingAMinute(journal);
    await n.run('app:flow', [1], { workflow: 'w' });
    await n.host.settled();
    clock.advance(MINUTE + 6_000);
    await until(
      () => n.logs.some((record) => record.message.startsWith('expired workflow journal not')),
      'the failure is logged',
    );
    expect(await streams()).toEqual(['w~1']);
    expect(n.logs.find((record) => record.level === 'warn')?.fields).toMatchObject({
      stream: 'w~1',
      error: 'disk on fire',
    });
    clock.advance(6_000);
    await until(async () => (await streams()).length === 0, 'the next sweep removes it');
  });
});

describe('expiredRuns', () => {
  const summary = (endedAt: number) => ({
    entry: 'app:flow',
    status: 'completed',
    startedAt: 0,
    endedAt,
  });

  it("takes each workflow's oldest runs up to the first one kept, in run order", () => {
    const closed = [
      { id: 'a~3', summary: summary(30) },
      { id: 'a~1', summary: summary(10) },
      { id: 'a~2', summary: summary(50) }, // kept: a~3 must stay too
      { id: 'b~2', summary: summary(20) },
      { id: 'b~10', summary: summary(25) },
      { id: 'c~1' }, // no summary: when it ended is not known
      { id: 'c~2', summary: summary(5) },
      { id: 'd~1', summary: summary(5) }, // not driven here
      { id: 'no-run', summary: summary(5) },
    ];
    const expired = expiredRuns(closed, 40, (workflow) => workflow !== 'd');
    expect(Object.fromEntries(expired)).toEqual({ a: [1], b: [2, 10] });
  });
});
