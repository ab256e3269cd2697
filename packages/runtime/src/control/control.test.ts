import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Node } from '../node.js';
import { writeApp } from '../testing/app.js';
import { queryControl } from './client.js';
import { controlSocketPath } from './socket-path.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function(name)
        process.registry.register(name)
        local events = process.events()
        while events:receive().kind ~= process.event.CANCEL do end
      end }
  - name: broken
    kind: process.lua
    source: |
      return { main = function() error(errors.new{ message = "disk full", kind = errors.INVALID }) end }
  - name: cache
    kind: process.service
    process: worker
    host: processes
    input: [cache]
    lifecycle: { auto_start: true }
  - name: store
    kind: process.service
    process: broken
    host: processes
    lifecycle: { auto_start: true }
`;

async function startNode() {
  const app = await writeApp({ 'app.yaml': APP });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {} });
  cleanups.push(async () => void (await node.stop()));
  const socket = path.join(app.dir, 'control.sock');
  return { node, socket, dir: app.dir };
}

it('reports the services, processes and node over its socket, and stops serving with the node', async () => {
  const { node, socket, dir } = await startNode();
  await node.startServices();
  await node.serveControl(socket, 'dev');
  expect(((await stat(socket)).mode & 0o777).toString(8)).toBe('600');

  const services = (await queryControl(socket, '/services')) as Record<string, unknown>[];
  expect(
    services.map(({ id, state, attempts, last_error }) => [id, state, attempts, last_error]),
  ).toEqual([
    ['app:cache', 'running', 0, null],
    ['app:store', 'failed', 1, 'disk full'],
  ]);
  expect(services[0]?.uptime_ms).toBeTypeOf('number');
  expect(services[1]?.uptime_ms).toBeNull();

  const processes = (await queryControl(socket, '/processes')) as Record<string, unknown>[];
  expect(processes).toEqual([
    expect.objectContaining({
      entry: 'app:worker',
      host: 'app:processes',
      names: ['cache'],
      mailbox: 0,
      mailbox_bytes: 0,
    }),
  ]);
  expect(await queryControl(socket, '/node')).toMatchObject({
    name: 'dev',
    dir,
    os_pid: process.pid,
    hosts: expect.arrayContaining(['app:processes']),
  });

  await node.stop();
  await expect(queryControl(socket, '/services')).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
});

it('answers an unknown route with NOT_FOUND naming the routes there are', async () => {
  const { node, socket } = await startNode();
  await node.serveControl(socket);
  await expect(queryControl(socket, '/workers')).rejects.toMatchObject({
    kind: 'NOT_FOUND',
    message: expect.stringContaining('/services'),
  });
});

it('replaces a socket a dead node left behind, but not one a live node serves', async () => {
  const { node, socket } = await startNode();
  await leaveStaleSocket(socket);
  await node.serveControl(socket);
  expect(await queryControl(socket, '/services')).toHaveLength(2);

  const second = await startNode();
  await expect(second.node.serveControl(socket)).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
});

/** A node that crashes (SIGKILL) leaves its socket file behind with nobody listening. */
async function leaveStaleSocket(socket: string): Promise<void> {
  const listener = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`,
  ]);
  await once(listener.stdout, 'data');
  listener.kill('SIGKILL');
  await once(listener, 'exit');
  await stat(socket);
}

it('says plainly when nothing listens', async () => {
  const { socket } = await startNode();
  await expect(queryControl(socket, '/services')).rejects.toMatchObject({
    kind: 'UNAVAILABLE',
    message: expect.stringContaining(socket),
  });
});

it('derives one stable socket path per application directory and node name', () => {
  const place = { env: {}, tmpdir: '/tmp', uid: 1000 };
  expect(controlSocketPath('/srv/app', 'local', place)).toBe(
    controlSocketPath('/srv/app/.', 'local', place),
  );
  expect(controlSocketPath('/srv/app', 'a', place)).not.toBe(
    controlSocketPath('/srv/app', 'b', place),
  );
  expect(controlSocketPath('/srv/app', 'local', place)).not.toBe(
    controlSocketPath('/srv/other', 'local', place),
  );
  expect(controlSocketPath('/srv/app', 'local', place)).toMatch(
    /^\/tmp\/luact-1000\/[0-9a-f]{16}\.sock$/,
  );
});

it('answers INVALID (400), not INTERNAL, for arguments that have no msgpack form', async () => {
  const app = await writeApp({
    'app.yaml': `
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: echo
    kind: workflow.lua
    source: "return { main = function(x) return x end }"
`,
  });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {}, stateDir: path.join(app.dir, 'state') });
  cleanups.push(async () => void (await node.stop()));
  const socket = path.join(app.dir, 'control.sock');
  await node.serveControl(socket, 'dev');
  let deep: unknown = 1;
  for (let i = 0; i < 70; i++) deep = [deep];
  await expect(
    queryControl(socket, '/workflow/start', { body: { entry: 'app:echo', args: [deep] } }),
  ).rejects.toMatchObject({
    kind: 'INVALID',
    message: expect.stringContaining(
      'the arguments of app:echo cannot be sent: msgpack: cannot encode a value nested deeper than',
    ),
  });
  expect(node.workflows.list()).toEqual([]);
});
