import { spawn } from 'node:child_process';
import { chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { queryControl } from './client.js';
import { type ControlRoutes, ControlServer } from './server.js';

const me = process.getuid?.() ?? 0;

let scratch: string;
let socket: string;
const servers: ControlServer[] = [];

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-control-server-'));
  socket = path.join(scratch, 'control.sock');
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const ROUTES: ControlRoutes = {
  '/ok': { method: 'GET', handle: () => ({ fine: true }) },
  '/throws': {
    method: 'GET',
    handle: () => {
      throw new TypeError('a handler bug');
    },
  },
  '/circular': {
    method: 'GET',
    handle: () => {
      const loop: Record<string, unknown> = {};
      loop.self = loop;
      return loop;
    },
  },
  '/echo': { method: 'POST', handle: (input) => input },
};

async function listen(options: Parameters<typeof ControlServer.listen>[2] = {}) {
  const server = await ControlServer.listen(socket, ROUTES, options);
  servers.push(server);
  return server;
}

/** Writes `bytes` and collects the answer until the server closes the connection. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let answer = '';
    const timer = setTimeout(() => reject(new Error(`no close within 10 s: ${answer}`)), 10_000);
    client.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    client.on('error', () => {});
    client.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    client.write(bytes);
  });
}

it('answers 500 when a handler throws, and goes on answering', async () => {
  await listen();
  await expect(queryControl(socket, '/throws')).rejects.toMatchObject({
    kind: 'INTERNAL',
    message: 'a handler bug',
  });
  await expect(queryControl(socket, '/circular')).rejects.toMatchObject({
    kind: 'INTERNAL',
    message: expect.stringContaining('no JSON form'),
  });
  expect(await queryControl(socket, '/ok')).toEqual({ fine: true });
});

it('reads a body up to the limit and refuses one past it with 413', async () => {
  await listen({ limits: { maxBodyBytes: 100 } });
  expect(await queryControl(socket, '/echo', { body: { text: 'x'.repeat(50) } })).toEqual({
    text: 'x'.repeat(50),
  });
  await expect(
    queryControl(socket, '/echo', { body: { text: 'x'.repeat(200) } }),
  ).rejects.toMatchObject({
    kind: 'INVALID',
    message: 'the request body is larger than the limit of 100 bytes',
  });
  expect(await queryControl(socket, '/ok')).toEqual({ fine: true });
});

it('closes on a client that does not finish its headers in time, with 408', async () => {
  await listen({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
  const answer = await exchange('GET /ok HTTP/1.1\r\nHost: x\r\n');
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(answer).toContain('"kind":"TIMEOUT"');
  expect(await queryControl(socket, '/ok')).toEqual({ fine: true });
});

it('closes a connection that sent a body where none is read, instead of draining it', async () => {
  await listen();
  const answer = await exchange(
    `GET /ok HTTP/1.1\r\nHost: x\r\nContent-Length: ${500 * 1024 * 1024}\r\n\r\npartial`,
  );
  // exchange() resolves once the node closed the connection.
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
});

it('is not sent a body over the limit by its own client', async () => {
  await listen();
  await expect(
    queryControl(socket, '/echo', { body: { text: 'x'.repeat(1024 * 1024) } }),
  ).rejects.toMatchObject({
    kind: 'INVALID',
    message: expect.stringMatching(
      /^the request to \/echo is 10485\d\d bytes, over the control endpoint's limit of 1048576 bytes/,
    ),
  });
});

it('makes its socket 0600', async () => {
  await listen();
  expect(((await stat(socket)).mode & 0o777).toString(8)).toBe('600');
});

it('does not replace a stale socket that belongs to another user', async () => {
  // A socket file nobody listens on: a process that listened and was killed.
  const listener = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`,
  ]);
  await new Promise((resolve) => listener.stdout.once('data', resolve));
  listener.kill('SIGKILL');
  await new Promise((resolve) => listener.once('exit', resolve));
  await chown(socket, 65534, 65534);
  await expect(listen()).rejects.toMatchObject({
    kind: 'PERMISSION_DENIED',
    message: expect.stringContaining(`${socket} belongs to uid 65534, not to you (uid ${me})`),
  });
  expect((await stat(socket)).isSocket()).toBe(true);
});

it('refuses a path holding a file and leaves the file alone', async () => {
  await writeFile(socket, 'notes');
  await expect(listen()).rejects.toMatchObject({
    kind: 'ALREADY_EXISTS',
    message: expect.stringContaining(`${socket} exists and is not a socket (a regular file)`),
  });
  expect((await stat(socket)).size).toBe(5);
});

it('refuses a directory that does not exist, naming it', async () => {
  socket = path.join(scratch, 'missing', 'control.sock');
  await expect(listen()).rejects.toMatchObject({
    kind: 'NOT_FOUND',
    message: expect.stringContaining(path.join(scratch, 'missing')),
  });
});

it("is refused by a client when the socket and its directory are not the user's", async () => {
  await listen();
  await expect(queryControl(socket, '/ok', { uid: me + 1 })).rejects.toMatchObject({
    kind: 'PERMISSION_DENIED',
  });
});
