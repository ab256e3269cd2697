import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { luact, type RunningCli, startLuact } from './luact-cli.js';

let scratch: string;
let app: string;
const nodes: RunningCli[] = [];

const SOURCE = `namespace: nd
entries:
  - name: flows
    kind: workflow.host
  - name: one
    kind: function.lua
    source: "return { main = function() return 1 end }"
  - name: two
    kind: function.lua
    source: "return { main = function() return 2 end }"
  - name: flow
    kind: workflow.lua
    modules: [funcs, logger]
    source: |
      local funcs, logger = require("funcs"), require("logger")
      return { main = function()
        local a = funcs.call("nd:one")
        logger.info("waiting for go")
        local go = process.listen("go"):receive()
        return a .. go
      end }
`;

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-nd-'));
  app = path.join(scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'app.yaml'), SOURCE);
});

afterEach(async () => {
  for (const node of nodes.splice(0)) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
  }
  await rm(scratch, { recursive: true, force: true });
});

async function startNode(): Promise<RunningCli> {
  const control = path.join(scratch, 'control.sock');
  const node = startLuact([
    'run',
    app,
    '--state-dir',
    path.join(scratch, 'state'),
    '--control',
    control,
  ]);
  nodes.push(node);
  await node.waitFor('stop with Ctrl+C');
  return node;
}

async function cli(...args: string[]) {
  return luact([...args, '--control', path.join(scratch, 'control.sock')]);
}

async function stop(node: RunningCli) {
  node.child.kill('SIGTERM');
  expect(await node.exited).toBe(0);
}

it('blocks a workflow whose code changed under it, naming both call sites; fixing the code resumes it', async () => {
  const first = await startNode();
  expect((await cli('workflow', 'start', 'nd:flow', '--id', 'nd-1')).code).toBe(0);
  await first.waitForLog({ msg: 'waiting for go' });
  await stop(first);

  // The new code calls nd:two first: the journal recorded a call of nd:one there.
  const original = await readFile(path.join(app, 'app.yaml'), 'utf8');
  await writeFile(
    path.join(app, 'app.yaml'),
    original.replace(
      'local a = funcs.call("nd:one")',
      'local a = funcs.call("nd:two") + funcs.call("nd:one")',
    ),
  );
  const edited = await startNode();
  let shown: { status: string; problem?: string } = { status: '' };
  for (let i = 0; i < 100 && shown.status !== 'blocked'; i++) {
    shown = JSON.parse((await cli('workflow', 'show', 'nd-1', '--json')).stdout);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(shown.status).toBe('blocked');
  const yaml = path.join(app, 'app.yaml');
  expect(shown.problem).toContain(`the journal has a call of nd:one at ${yaml}:17`);
  expect(shown.problem).toContain(`the code now issues a call of nd:two at ${yaml}:17`);
  expect(shown.problem).toContain('At journal position 1');
  // A blocked workflow still accepts messages: they wait in its journal.
  expect((await cli('workflow', 'signal', 'nd-1', 'go', 'ahead')).code).toBe(0);
  await stop(edited);

  await writeFile(path.join(app, 'app.yaml'), original);
  await startNode();
  let result: { status: string; ended?: { value?: unknown } } = { status: '' };
  for (let i = 0; i < 100 && result.status !== 'completed'; i++) {
    result = JSON.parse((await cli('workflow', 'show', 'nd-1', '--json')).stdout);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(result).toMatchObject({ status: 'completed', ended: { value: '1ahead' } });
}, 120_000); // Two nodes and a dozen CLI processes one after the other: minutes on a loaded machine.
