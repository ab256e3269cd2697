import type { Journal } from '@luact/journal';
import type { WorkflowSummary } from '@luact/workflow';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';
import { parseStatuses, selectRuns } from './workflow-list.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const APP = `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: done
    kind: workflow.lua
    source: "return { main = function(n) return n end }"
  - name: boom
    kind: workflow.lua
    source: "return { main = function() error('boom') end }"
  - name: quits
    kind: workflow.lua
    source: |
      return { main = function()
        error(errors.new({ kind = errors.CANCELED, message = "not needed", retryable = false }))
      end }
  - name: looper
    kind: workflow.lua
    source: |
      return { main = function(n)
        if n > 1 then return process.upgrade(nil, n - 1) end
        return n
      end }
  - name: waiter
    kind: workflow.lua
    source: |
      return { main = function()
        return process.listen("decision"):receive()
      end }
`;

async function startNode(dir: string): Promise<Node> {
  const node = await Node.start({ dir, env: {}, print: () => {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const everything = { limit: 1_000 };

/** Whether workflow `id` ended for good (not continued as new). */
async function ended(node: Node, id: string): Promise<boolean> {
  const { runs } = await node.workflows.listRuns(everything);
  return runs.some(
    (run) => run.workflow === id && !['running', 'replaying', 'continued'].includes(run.status),
  );
}

describe('listing workflow runs', () => {
  it('lists ended runs of an earlier life of the node, newest first, without reading their journals', async () => {
    const written = await writeApp({ 'app.yaml': APP });
    cleanups.push(written.remove);
    const first = await startNode(written.dir);
    for (const [entry, id, args] of [
      ['app:done', 'd1', [1]],
      ['app:boom', 'b1', []],
      ['app:quits', 'q1', []],
      ['app:looper', 'l1', [3]],
      ['app:waiter', 'term', []],
      ['app:waiter', 'open', []],
      ['app:done', 'd2', [2]],
    ] as const) {
      await first.workflows.start(entry, args, { id });
      // Each run ends (all its continuations too) before the next starts, a few ms later:
      // newest first then has one answer.
      if (entry !== 'app:waiter') await until(async () => ended(first, id), `${id} ended`);
      const at = Date.now();
      await until(async () => Date.now() > at + 2, 'the clock moved');
    }
    await first.workflows.terminate('term', 'operator');
    await until(
      async () =>
        (await first.workflows.listRuns({ ...everything, statuses: ['running'] })).total === 1,
      'every run but one ended',
    );
    await first.stop();

    const second = await startNode(written.dir);
    const host = second.workflows.host('app:flows');
    const journal = host?.journal as Journal;
    let reads = 0;
    const read = journal.read.bind(journal);
    journal.read = (id) => {
      reads++;
      return read(id);
    };
    const page = await second.workflows.listRuns(everything);
    expect(reads).toBe(0);
    expect(page.total).toBe(9);
    expect(page.runs.map((run) => [run.workflow, run.run, run.entry, run.status])).toEqual([
      ['d2', 1, 'app:done', 'completed'],
      ['open', 1, 'app:waiter', expect.stringMatching(/^(running|replaying)$/)],
      ['term', 1, 'app:waiter', 'terminated'],
      ['l1', 3, 'app:looper', 'completed'],
      ['l1', 2, 'app:looper', 'continued'],
      ['l1', 1, 'app:looper', 'continued'],
      ['q1', 1, 'app:quits', 'canceled'],
      ['b1', 1, 'app:boom', 'failed'],
      ['d1', 1, 'app:done', 'completed'],
    ]);
    for (const run of page.runs) {
      expect(run.host).toBe('app:flows');
      expect(run.startedAt).toEqual(expect.any(Number));
      if (run.status !== 'running' && run.status !== 'replaying')
        expect(run.endedAt).toBeGreaterThanOrEqual(run.startedAt as number);
    }

    const completed = await second.workflows.listRuns({ statuses: ['completed'], limit: 2 });
    expect(completed.runs.map((run) => `${run.workflow}~${run.run}`)).toEqual(['d2~1', 'l1~3']);
    expect(completed.total).toBe(3);
    const ofEntry = await second.workflows.listRuns({ entry: 'app:looper', limit: 10 });
    expect(ofEntry.runs.map((run) => run.status)).toEqual(['completed', 'continued', 'continued']);
    const failedOrCanceled = await second.workflows.listRuns({
      statuses: parseStatuses('failed,canceled'),
      limit: 10,
    });
    expect(failedOrCanceled.runs.map((run) => run.workflow)).toEqual(['q1', 'b1']);
  });
});

describe('a workflow host with a journal retention', () => {
  it('removes runs that ended longer ago from its journal and its listing, also after a restart', async () => {
    const written = await writeApp({
      'app.yaml': APP.replace(
        'kind: workflow.host',
        'kind: workflow.host\n    journal: { retention: 1s, fsync: never }',
      ),
    });
    cleanups.push(written.remove);
    const first = await startNode(written.dir);
    await first.workflows.start('app:done', [1], { id: 'd1' });
    await first.workflows.start('app:waiter', [], { id: 'open' });
    await until(async () => ended(first, 'd1'), 'd1 ended');
    // Swept within a second or two of the retention (sweeps come every second here).
    await until(
      async () => (await first.workflows.listRuns(everything)).runs.length === 1,
      'd1 removed',
    );
    const journal = first.workflows.host('app:flows')?.journal as Journal;
    expect((await journal.ids()).map((stream) => stream.id)).toEqual(['open~1']);
    await first.stop();

    const second = await startNode(written.dir);
    expect((await second.workflows.listRuns(everything)).runs.map((run) => run.workflow)).toEqual([
      'open',
    ]);
    // Its ID is free again: a new start is run 1.
    await second.workflows.start('app:done', [2], { id: 'd1' });
    await until(async () => ended(second, 'd1'), 'd1 ended again');
    const again = (await second.workflows.listRuns(everything)).runs.find(
      (run) => run.workflow === 'd1',
    );
    expect(again).toMatchObject({ run: 1, status: 'completed' });
    // The running one stays however old it is.
    await until(
      async () => (await second.workflows.listRuns(everything)).runs.length === 1,
      'd1 removed again',
    );
    expect((await second.workflows.listRuns(everything)).runs).toMatchObject([
      { workflow: 'open', status: expect.stringMatching(/^(running|replaying)$/) },
    ]);
  });
});

describe('selecting runs', () => {
  const run = (workflow: string, startedAt: number | undefined, status = 'completed') =>
    ({
      workflow,
      pid: `{app:flows|${workflow}}`,
      run: 1,
      entry: 'app:done',
      status,
      ...(startedAt !== undefined ? { startedAt } : {}),
    }) as WorkflowSummary;

  it('puts runs whose journal cannot be read first, then the newest', () => {
    const page = selectRuns(
      [run('old', 1), run('broken', undefined, 'unreadable'), run('new', 3), run('mid', 2)],
      { limit: 3 },
    );
    expect(page).toEqual({
      runs: [
        expect.objectContaining({ workflow: 'broken' }),
        expect.objectContaining({ workflow: 'new' }),
        expect.objectContaining({ workflow: 'mid' }),
      ],
      total: 4,
    });
  });

  it('reads statuses from a comma list, Temporal spellings too, and names an unknown one', () => {
    expect(parseStatuses('Completed, continued-as-new,,cancelled,completed')).toEqual([
      'completed',
      'continued',
      'canceled',
    ]);
    expect(() => parseStatuses('done')).toThrow(
      /unknown workflow status "done" \(one of: running, replaying, blocked, unreadable, completed, failed, canceled, terminated, continued\)/,
    );
  });
});
