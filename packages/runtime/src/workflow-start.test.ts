import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Two workflow hosts: a workflow.lua started without a host would need its meta.host.
const APP = `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: more_flows
    kind: workflow.host
  - name: order
    kind: workflow.lua
    meta: { host: app:flows }
    source: |
      return { main = function() return "done" end }
  - name: counter
    kind: process.lua
    source: |
      return { main = function() end }
  - name: settings
    kind: registry.entry
    text: hello
`;

async function start(): Promise<Node> {
  const app = await writeApp({ 'app.yaml': APP });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {}, print: () => {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

async function failure(work: Promise<unknown>): Promise<{ kind: string; message: string }> {
  const error = (await work.then(
    () => undefined,
    (e: unknown) => e,
  )) as { kind: string; message: string } | undefined;
  if (!error) throw new Error('expected the start to fail');
  return { kind: error.kind, message: error.message };
}

describe('starting an entry as a workflow', () => {
  it('says that a process.lua entry is not a workflow.lua and how to run it', async () => {
    const node = await start();
    const expected = {
      kind: 'INVALID',
      message: `cannot start app:counter as a workflow: it is a process.lua entry, not a workflow.lua; run it with \`luact run ${node.dir} --exec app:counter\``,
    };
    expect(await failure(node.workflows.start('app:counter', []))).toEqual(expected);
    expect(await failure(node.workflows.start('app:counter', [], { host: 'app:flows' }))).toEqual(
      expected,
    );
  });

  it('says which kind an entry that cannot run at all is', async () => {
    const node = await start();
    expect(await failure(node.workflows.start('app:settings', []))).toEqual({
      kind: 'INVALID',
      message:
        'cannot start app:settings as a workflow: it is a registry.entry entry, not a workflow.lua; only workflow.lua entries start as workflows',
    });
  });

  it('names the workflow likely meant by an ID of no entry', async () => {
    const node = await start();
    expect(await failure(node.workflows.start('app:ordr', []))).toEqual({
      kind: 'NOT_FOUND',
      message: 'entry app:ordr not found (did you mean app:order?)',
    });
    expect(await node.workflows.start('app:order', [])).toMatch(/^\{app:flows\|/);
  });
});
