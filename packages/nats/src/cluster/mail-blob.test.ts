import { randomBytes } from 'node:crypto';
import type { Envelope, MailRecipient, Pid } from '@luact/process';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { MailTransport } from './mail-transport.js';

const MAX_PAYLOAD = 1024 * 1024;
let server: NatsServerHandle;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
}, 30_000);

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await server?.stop();
});

async function open(node: string): Promise<MailTransport> {
  const connection = await connect({ servers: server.url });
  connections.push(connection);
  expect(connection.info?.max_payload).toBe(MAX_PAYLOAD);
  return MailTransport.open({ connection, node, incarnation: 1, gapHoldMs: 600_000 });
}

it('sends a 5 MiB payload through the object store, in order with the messages around it, and deletes it once delivered', async () => {
  const a = await open('a');
  const b = await open('b');
  const got: Envelope[] = [];
  const receiver: MailRecipient = {
    deliver: (envelope) => void got.push(envelope),
    signal: () => {},
  };
  b.attach(receiver);
  const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
  const message = (topic: string, payload: Uint8Array): Envelope => ({
    to: '{b@host|1}' as Pid,
    from: '{a@host|1}' as Pid,
    topic,
    payload,
  });
  // Not awaited one by one: the small ones are stored long before the large one.
  await Promise.all([
    a.sendRemote('b', message('before', new Uint8Array([1]))),
    a.sendRemote('b', message('big', big)),
    a.sendRemote('b', message('after', new Uint8Array([2]))),
  ]);

  await vi.waitFor(() => expect(got).toHaveLength(3), { timeout: 60_000, interval: 50 });
  expect(got.map((envelope) => envelope.topic)).toEqual(['before', 'big', 'after']);
  const delivered = got[1]?.payload;
  expect(delivered?.byteLength).toBe(big.byteLength);
  expect(Buffer.from(delivered ?? []).equals(Buffer.from(big))).toBe(true);

  const blobs = await new Objm(connections[0] as NatsConnection).open('luact_mail');
  await vi.waitFor(async () => expect(await blobs.list()).toEqual([]), {
    timeout: 30_000,
    interval: 100,
  });
  // The chunks are purged, not just hidden: the store holds only small metadata.
  expect((await blobs.status()).size).toBeLessThan(64 * 1024);
  await Promise.all([a.close(), b.close()]);
}, 120_000);
