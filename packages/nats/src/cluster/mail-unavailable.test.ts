import type { Envelope, MailRecipient, Pid } from '@luact/process';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { MailTransport } from './mail-transport.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await server?.stop();
});

async function open(node: string, connection?: NatsConnection): Promise<MailTransport> {
  connection ??= await connectToServer();
  // A gap that is not announced would hold later mail for the whole test.
  return MailTransport.open({
    connection,
    node,
    incarnation: 1,
    sendTimeoutMs: 1_500,
    gapHoldMs: 600_000,
  });
}

async function connectToServer(): Promise<NatsConnection> {
  const connection = await connect({
    servers: server.url,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  connections.push(connection);
  return connection;
}

const message = (body: string): Envelope => ({
  to: '{b@host|1}' as Pid,
  from: '{a@host|1}' as Pid,
  topic: 't',
  payload: new TextEncoder().encode(body),
});

it('fails a send UNAVAILABLE naming the node after the bound while NATS is down, and sends again once it is back', async () => {
  const a = await open('a');
  const b = await open('b');
  const got: string[] = [];
  const receiver: MailRecipient = {
    deliver: (envelope) => void got.push(new TextDecoder().decode(envelope.payload)),
    signal: () => {},
  };
  b.attach(receiver);
  await a.sendRemote('b', message('first'));
  await vi.waitFor(() => expect(got).toEqual(['first']), { timeout: 30_000, interval: 50 });

  await server.kill();
  const started = Date.now();
  await expect(a.sendRemote('b', message('lost'))).rejects.toMatchObject({
    name: 'LuactError',
    kind: 'UNAVAILABLE',
    retryable: true,
    message: expect.stringMatching(
      /^mail to node "b" was not stored by JetStream within \d+\.\d s/,
    ),
    details: expect.objectContaining({ node: 'b' }),
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);

  await server.restart();
  await vi.waitFor(
    async () => {
      const delivery = a.sendRemote('b', message('back'));
      if (delivery !== undefined)
        await (delivery instanceof Error ? Promise.reject(delivery) : delivery);
    },
    { timeout: 30_000, interval: 200 },
  );
  // The failed send's sequence was given up on and announced, so nothing waits for it.
  await vi.waitFor(() => expect(got.at(-1)).toBe('back'), { timeout: 60_000, interval: 50 });
  expect(got[0]).toBe('first');
  expect(got.filter((body) => body === 'back').length).toBeGreaterThanOrEqual(1);
  await Promise.all([a.close(), b.close()]);
}, 120_000);

it('opens once JetStream answers again: a node joining while the server restarts waits for it', async () => {
  const connection = await connectToServer();
  await server.kill();
  const opening = open('late', connection);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await server.restart();
  const late = await opening;
  expect(late.sendRemote('b', message('after'))).toBeInstanceOf(Promise);
  await late.close();
}, 60_000);
