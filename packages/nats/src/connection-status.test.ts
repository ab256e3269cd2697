import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connectNats } from './connect.js';
import { type ConnectionLogRecord, watchConnection } from './connection-status.js';

let dir: string;
let server: NatsServerHandle | undefined;
let connection: NatsConnection | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-status-'));
});

afterEach(async () => {
  await connection?.close();
  await server?.stop();
  connection = undefined;
  server = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Connects to `nats` with fast redials and pings, and records what watchConnection logs. */
async function watched(nats: NatsServerHandle, more: Record<string, unknown> = {}) {
  const records: ConnectionLogRecord[] = [];
  connection = await connectNats(
    { servers: nats.url, connect_timeout: 5_000, reconnect_wait: 100, ...more },
    dir,
    'app:nats',
  );
  const watching = watchConnection(connection, (record) => records.push(record), 'app:nats');
  return { connection, records, watching };
}

async function roundTrip(nc: NatsConnection): Promise<string> {
  const subscription = nc.subscribe('echo', {
    callback: (_, message) => {
      message.respond(message.data);
    },
  });
  try {
    return (await nc.request('echo', 'ping', { timeout: 5_000 })).string();
  } finally {
    subscription.unsubscribe();
  }
}

const messages = (records: readonly ConnectionLogRecord[]) =>
  records.map((record) => `${record.level} ${record.message}`);

it('logs the loss and the return of the server, and redials past the client’s default 10 tries', async () => {
  server = await startNatsServer({ jetstream: false });
  const { connection: nc, records } = await watched(server);
  const address = `127.0.0.1:${server.port}`;
  expect(await roundTrip(nc)).toBe('ping');

  await server.kill();
  // 3 s down with a redial every 100 ms: far more than the 10 redials the client allows by default.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await server.restart();
  await expect
    .poll(() => records.some((record) => record.level === 'info'), { timeout: 30_000 })
    .toBe(true);
  expect(await roundTrip(nc)).toBe('ping');

  const lost = records.find((record) => record.level === 'warn');
  expect(lost).toEqual({
    level: 'warn',
    message: `NATS connection app:nats lost: ${address}; redialling`,
    fields: { connection: 'app:nats', server: address },
    labels: { connection: 'app:nats' },
  });
  const redials = records.filter((record) => record.message.includes('redialling (attempt'));
  expect(redials.length).toBeGreaterThan(10);
  expect(redials.every((record) => record.level === 'debug')).toBe(true);
  const back = records.find((record) => record.level === 'info');
  expect(back?.message).toMatch(
    new RegExp(
      `^NATS connection app:nats back: ${address} after \\d+\\.\\d s down \\(\\d+ redials\\)$`,
    ),
  );
  expect(back?.fields).toMatchObject({ server: address, downMs: expect.any(Number) });
  expect((back?.fields.downMs as number) >= 3_000).toBe(true); // down at least as long as the outage
  expect(records.some((record) => record.level === 'error')).toBe(false);
}, 60_000);

it('notices a server that stops answering (stale connection) within a few pings, and comes back', async () => {
  server = await startNatsServer({ jetstream: false });
  const { connection: nc, records } = await watched(server, { ping_interval: 300 });
  expect(await roundTrip(nc)).toBe('ping');

  process.kill(server.pid, 'SIGSTOP'); // the TCP connection stays open: only pings can tell
  try {
    await expect
      .poll(() => messages(records).some((m) => m.includes('is stale')), { timeout: 30_000 })
      .toBe(true);
  } finally {
    process.kill(server.pid, 'SIGCONT');
  }
  await expect
    .poll(() => records.some((record) => record.level === 'info'), { timeout: 30_000 })
    .toBe(true);
  expect(await roundTrip(nc)).toBe('ping');
  expect(messages(records).find((m) => m.includes('is stale'))).toBe(
    'warn NATS connection app:nats is stale (the server did not answer its pings); redialling',
  );
}, 60_000);

it('logs a server entering lame duck mode', async () => {
  server = await startNatsServer({ jetstream: false });
  const { records } = await watched(server);
  process.kill(server.pid, 'SIGUSR2'); // nats-server: enter lame duck mode
  await expect
    .poll(() => messages(records).some((m) => m.includes('lame duck')), { timeout: 30_000 })
    .toBe(true);
  expect(records.find((record) => record.message.includes('lame duck'))).toMatchObject({
    level: 'warn',
    message: `NATS server 127.0.0.1:${server.port} is shutting down (lame duck mode); connection app:nats will move to another server`,
  });
}, 60_000);

it('logs an error when the connection closes for good (credentials refused on redial), and only a debug line when its owner closes it', async () => {
  const config = path.join(dir, 'auth.conf');
  await writeFile(config, 'authorization { user: bob, password: "first" }\n');
  server = await startNatsServer({ jetstream: false, args: ['-c', config] });
  const {
    connection: nc,
    records,
    watching,
  } = await watched(server, {
    user: 'bob',
    password: 'first',
  });
  await server.kill();
  await writeFile(config, 'authorization { user: bob, password: "changed" }\n');
  await server.restart();
  await watching; // the client stops after the server refused it twice
  expect(nc.isClosed()).toBe(true);
  expect(records.at(-1)).toMatchObject({
    level: 'error',
    message: expect.stringMatching(/^NATS connection app:nats closed for good: .*Authorization/i),
  });

  // Closed by its owner: not an error.
  const owned = await watched(server, { user: 'bob', password: 'changed' });
  await owned.connection.close();
  await owned.watching;
  expect(owned.records).toEqual([
    {
      level: 'debug',
      message: 'NATS connection app:nats closed',
      fields: { connection: 'app:nats' },
      labels: { connection: 'app:nats' },
    },
  ]);
}, 60_000);
