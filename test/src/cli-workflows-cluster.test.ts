import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningCli, startedByTests } from './luact-cli.js';

/**
 * Workflows across `luact run --nats … --node` processes: a third node runs a process that
 * starts workflows with generated IDs (spread over every node) and waits for each one's EXIT;
 * one of the nodes driving them is killed with SIGKILL, and the survivors finish its share.
 */

const APP = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: idle
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        while true do events:receive() end
      end }
  - name: idling
    kind: process.service
    process: idle
    host: processes
    lifecycle: { auto_start: true }
  - name: flows
    kind: workflow.host
  - name: order
    kind: workflow.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(n)
        print("driving " .. n)
        time.sleep("4s")
        return n * 2
      end }
  - name: starter
    kind: process.lua
    source: |
      return { main = function(count)
        local started, doubled = {}, {}
        for i = 1, count do
          started[assert(process.spawn_monitored("app:order", "app:flows", i))] = true
        end
        for _ = 1, count do
          local event = process.events():receive()
          assert(event.kind == "EXIT" and started[event.from], tostring(event.from))
          assert(event.result.error == nil, tostring(event.result.error))
          table.insert(doubled, event.result.value)
        end
        table.sort(doubled)
        return doubled
      end }
`;

const clis = startedByTests('luact-cli-wf-cluster-');
let server: NatsServerHandle;
let app: string;

beforeAll(async () => {
  await clis.prepare();
  app = path.join(clis.scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'app.yaml'), APP);
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  await clis.cleanUp();
  await server?.stop();
});

it('finishes the workflows of a node killed with SIGKILL on the others; the starter gets every EXIT', async () => {
  const node = (name: string, ...more: string[]): RunningCli =>
    clis.start([
      'run',
      app,
      '--nats',
      server.url,
      '--node',
      name,
      '--state-dir',
      path.join(clis.scratch, name),
      ...more,
    ]);
  const a = node('a');
  const b = node('b');
  await Promise.all([a, b].map((cli) => cli.waitFor('1 of 1 service running', 60_000)));
  const c = node('c', '--exec', 'app:starter', '30');
  // b drives some of them: it printed so. Then it dies without leaving.
  await expect.poll(() => b.stdout().includes('driving'), { timeout: 60_000 }).toBe(true);
  b.child.kill('SIGKILL');
  expect(await b.exited).toBe(137);

  const code = await c.exited;
  expect(code, c.stderr()).toBe(0);
  const outcome = c
    .stdout()
    .split('\n')
    .find((line) => line.startsWith('{'));
  expect(JSON.parse(outcome as string)).toEqual({
    ok: true,
    value: Array.from({ length: 30 }, (_, i) => (i + 1) * 2),
  });
}, 180_000);
