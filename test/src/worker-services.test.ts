import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExitOutcome } from '@luact/process';
import { Node, queryControl } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What the node says and does about the processes of a `workers: 2` host from the main
 * thread: `luact ps` (the control socket's /processes) lists them, and a service that does not
 * stop in time ends with its own error, as on the main thread.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host: { workers: 2 }
  - name: solo
    kind: process.host

  - name: stubborn_proc
    kind: process.lua
    source: |
      return { main = function()
        print("stubborn up on " .. process.pid())
        process.listen("never"):receive()
      end }
  - name: stubborn
    kind: process.service
    process: stubborn_proc
    host: w2
    lifecycle: { auto_start: true, stop_timeout: 200ms }

  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }
`;

let dir: string;
let node: Node;
const printed: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-wsvc-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({ dir, env: {}, print: (text) => printed.push(text) });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the processes of a host with workers: 2', () => {
  it('are listed by luact ps with those of the main thread', async () => {
    const socket = path.join(dir, 'control.sock');
    await node.serveControl(socket);
    const onWorkers = await Promise.all(
      [0, 1, 2, 3].map(() => node.spawn('app:idle', [], 'app:w2')),
    );
    const onMain = await node.spawn('app:idle', [], 'app:solo');
    const listed = (await queryControl(socket, '/processes')) as { pid: string; host: string }[];
    for (const pid of onWorkers)
      expect(listed).toContainEqual(
        expect.objectContaining({ pid, host: 'app:w2', entry: 'app:idle' }),
      );
    expect(listed).toContainEqual(expect.objectContaining({ pid: onMain, host: 'app:solo' }));
    // Both workers answered (spawns from the main thread alternate between them).
    const numbers = onWorkers.map((pid) => Number(/\|(\d+)\}$/.exec(pid)?.[1]) % 2);
    expect(new Set(numbers)).toEqual(new Set([0, 1]));
    for (const pid of [...onWorkers, onMain]) await node.send(pid, 'stop', true);
  });

  it('end with their service’s own error when it does not stop in time', async () => {
    await node.startServices();
    const deadline = Date.now() + 20_000;
    while (!printed.some((line) => line.startsWith('stubborn up on ')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const pid = /\{[^}]*\}/.exec(printed.find((line) => line.startsWith('stubborn up')) ?? '')?.[0];
    expect(pid).toMatch(/^\{app:w2\|\d+\}$/);
    let ended: ExitOutcome | undefined;
    const inbox = node.system.openInbox(() => {});
    expect(inbox.watch(pid as never, (outcome) => (ended = outcome))).toBeUndefined();
    const stopped = await node.services.stop();
    expect(stopped.terminated).toContain('app:stubborn');
    const until = Date.now() + 10_000;
    while (ended === undefined && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    inbox.close();
    expect(ended).toMatchObject({
      ok: false,
      error: {
        kind: 'TIMEOUT',
        message: 'service app:stubborn did not stop within 200 ms',
      },
    });
  });
});
