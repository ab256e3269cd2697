import { encodeValues } from '@luact/lua';
import { afterEach, expect, it } from 'vitest';
import { type Node, node, workflow } from './testing/harness.js';

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

const ENTRIES = {
  'app:flow': workflow(
    `local funcs = require("funcs")
     return { main = function(i) return funcs.call("step", i) end }`,
    ['funcs'],
  ),
};

/**
 * A host let go of every run whose end was durable: it kept each run's driver (its code's
 * state, its records, its history) for as long as it ran, ~6 KB per finished workflow. What
 * it keeps instead still lists the run, answers a repeated keyed start and refuses a message.
 */
it('keeps no driver for a run whose end is durable, and still lists it, answers its key and refuses a message to it', async () => {
  const n = await node(ENTRIES, { functions: { 'app:step': async (_call, i) => Number(i) * 2 } });
  nodes.push(n);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => n.run('app:flow', [i], { workflow: `w${i}` })),
  );
  expect(results.map((r) => (r.ok ? r.value : r.error))).toEqual(
    Array.from({ length: 50 }, (_, i) => i * 2),
  );
  await n.host.settled();
  expect(n.host.runsInMemory).toBe(0);

  const listed = n.host.list();
  expect(listed).toHaveLength(50);
  expect(listed.every((run) => run.status === 'completed' && run.run === 1)).toBe(true);
  expect((await n.journal.list()).every((stream) => stream.closed)).toBe(true);

  // A late watcher hears the end from the journal.
  const late = await new Promise((resolve) => void n.host.watchWorkflow('{app:flows|w7}', resolve));
  expect(late).toMatchObject({ ok: true });

  const keyed = {
    workflow: 'keyed',
    entry: 'app:flow',
    args: encodeValues([1]),
    context: {},
    messages: [],
    conflict: 'fail' as const,
    key: 'request-1',
  };
  const pid = await n.host.start(keyed);
  await expect
    .poll(() => n.host.list().find((r) => r.workflow === 'keyed')?.status)
    .toBe('completed');
  await n.host.settled();
  // The same request again after the end: the run it started, not a second one.
  expect(await n.host.start(keyed)).toBe(pid);
  expect((await n.journal.ids()).filter((stream) => stream.id.startsWith('keyed~'))).toHaveLength(
    1,
  );

  await expect(
    n.host.send({ to: pid, topic: 'late', payload: encodeValues([]) } as never),
  ).rejects.toThrow('workflow keyed has ended (completed)');
});
