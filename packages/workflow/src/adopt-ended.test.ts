import { LuactError } from '@luact/core';
import { type JournalRecord, MemoryJournal } from '@luact/journal';
import type { ExitOutcome } from '@luact/process';
import { afterEach, expect, it } from 'vitest';
import { type Node, node, workflow } from './testing/harness.js';

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

/**
 * A run that ends while its node is fenced for a moment: its terminal record is journaled,
 * then closing its journal is refused (CONFLICT) and the host lets the run go. When the node
 * takes its partition over again, the host finds the run ended and closes it; whoever watched
 * the run learns its end then.
 */
it('tells the watchers of a run whose end is journaled, even when closing its stream is refused; the run is closed once adopted again', async () => {
  const journal = new MemoryJournal();
  const close = journal.close.bind(journal);
  let refuse = true;
  journal.close = async (id, summary) => {
    if (refuse) {
      refuse = false;
      throw new LuactError(
        'CONFLICT',
        `cannot close journal ${id}: this node does not own its partition`,
      );
    }
    return close(id, summary);
  };
  const n = await node(
    { 'app:answer': workflow('return { main = function() return 42 end }') },
    { journal },
  );
  nodes.push(n);
  const outcomes: ExitOutcome[] = [];
  const pid = await n.start('app:answer', [], { workflow: 'w' });
  await n.host.watch(pid, (outcome) => outcomes.push(outcome as ExitOutcome));
  // The terminal record is durable: that decides the end, whoever closes the stream.
  await expect.poll(() => outcomes.length).toBe(1);
  expect(outcomes[0]?.ok).toBe(true);
  await expect
    .poll(() => n.logs.some((r) => r.message.startsWith('workflow journal not closed')))
    .toBe(true);
  expect((await journal.list()).find((stream) => stream.id === 'w~1')?.closed).toBe(false);

  const records = await journal.read('w~1');
  await n.host.adopt([{ id: 'w~1', records, closed: false }]);
  await expect
    .poll(async () => (await journal.list()).find((stream) => stream.id === 'w~1')?.closed)
    .toBe(true);
  expect(outcomes).toHaveLength(1);
});

/**
 * A node running `app:flow` (one call of `app:step`) over a journal that holds back the append
 * carrying the run's end (and the result before it) until `open` is called; `waiting` says
 * that append came, `calls` counts the activity's runs.
 */
async function endHeldBack() {
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const held = { waiting: false, calls: 0 };
  const journal = new (class extends MemoryJournal {
    override async append(id: string, expected: number, records: readonly JournalRecord[]) {
      if (records.some((record) => record.t === 'completed')) {
        held.waiting = true;
        await gate;
      }
      return super.append(id, expected, records);
    }
  })();
  const n = await node(
    {
      'app:flow': workflow(
        `local funcs = require("funcs")
         return { main = function() return funcs.call("step", 1) end }`,
        ['funcs'],
      ),
    },
    { journal, functions: { 'app:step': async (_call, x) => ++held.calls + Number(x) } },
  );
  nodes.push(n);
  const pid = await n.start('app:flow', [], { workflow: 'w' });
  await expect.poll(() => held.waiting).toBe(true);
  return { n, journal, pid, held, open };
}

it('does not take over a run it drives whose end is still on its way to the journal', async () => {
  const { n, journal, pid, held, open } = await endHeldBack();
  // The partition is taken over again meanwhile: the journal does not hold the result yet.
  const records = await journal.read('w~1');
  expect(records.map((record) => record.t)).toEqual(['started', 'task']);
  await n.host.adopt([{ id: 'w~1', records, closed: false }]);
  open();
  expect(await n.result(pid)).toEqual({ ok: true, value: 2 });
  expect(held.calls).toBe(1); // the activity ran once
});

it('does not take over a run it drives from records read before its end was journaled', async () => {
  const { n, journal, pid, held, open } = await endHeldBack();
  // The takeover reads the partition now, and adopts what it read once the end is durable
  // (a fenced node taking its partitions back: the read and the adoption are apart in time).
  const stale = await journal.read('w~1');
  expect(stale.map((record) => record.t)).toEqual(['started', 'task']);
  open();
  expect(await n.result(pid)).toEqual({ ok: true, value: 2 });
  await n.host.adopt([{ id: 'w~1', records: stale, closed: false }]);
  await n.host.settled();
  expect(held.calls).toBe(1); // the activity ran once
  expect(n.host.list().find((summary) => summary.workflow === 'w')?.status).toBe('completed');
});
