import { jetstreamManager } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  connect,
  headers,
  NoRespondersError,
  TimeoutError,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AckInbox } from './ack-inbox.js';
import { natsServerAndConnection } from './testing/nats-server.js';

// How AckInbox answers publishDurably is tested with the client side by side in
// durable-publish.test.ts; these are its own cases: deadlines, no responders, closing.

const nats = natsServerAndConnection();
let inbox: AckInbox;

beforeAll(async () => {
  const jsm = await jetstreamManager(nats.connection);
  await jsm.streams.add({ name: 'ACKS', subjects: ['acks.>'] });
  inbox = new AckInbox(nats.connection);
});

afterAll(() => {
  inbox?.close();
});

const attempt = (msgID: string, timeout = 30_000) => ({ msgID, timeout, headers: headers() });

it('matches each of many publishes in flight with its own acknowledgement', async () => {
  const acks = await Promise.all(
    Array.from({ length: 200 }, (_, i) => inbox.publish('acks.many', `${i}`, attempt(`m${i}`))),
  );
  expect(new Set(acks.map((ack) => ack.seq)).size).toBe(200);
  const again = await inbox.publish('acks.many', '7', attempt('m7'));
  expect(again).toMatchObject({ stream: 'ACKS', seq: acks[7]?.seq, duplicate: true });
}, 30_000);

it('fails an attempt nobody answers with TimeoutError at its own deadline, the shorter first', async () => {
  // A plain subscriber takes the message and never answers.
  const quiet = nats.connection.subscribe('quiet.x');
  await nats.connection.flush();
  try {
    const settled: string[] = [];
    const long = inbox.publish('quiet.x', 'a', attempt('q1', 1_500)).catch((error) => {
      settled.push('long');
      return error;
    });
    const short = inbox.publish('quiet.x', 'b', attempt('q2', 200)).catch((error) => {
      settled.push('short');
      return error;
    });
    expect(await short).toBeInstanceOf(TimeoutError);
    expect(await long).toBeInstanceOf(TimeoutError);
    expect(settled).toEqual(['short', 'long']);
  } finally {
    quiet.unsubscribe();
  }
}, 30_000);

it('fails an attempt on a subject nothing listens to with NoRespondersError', async () => {
  await expect(inbox.publish('nobody.here', 'x', attempt('n1'))).rejects.toBeInstanceOf(
    NoRespondersError,
  );
}, 30_000);

it('fails the attempts still waiting with ClosedConnectionError when its connection closes', async () => {
  const own = await connect({ servers: nats.server.url });
  const ownInbox = new AckInbox(own);
  const quiet = nats.connection.subscribe('quiet.y');
  await nats.connection.flush();
  try {
    const waiting = ownInbox.publish('quiet.y', 'x', attempt('c1')).catch((error) => error);
    await own.flush();
    await own.close();
    expect(await waiting).toBeInstanceOf(ClosedConnectionError);
    await expect(ownInbox.publish('acks.x', 'x', attempt('c2'))).rejects.toBeInstanceOf(
      ClosedConnectionError,
    );
  } finally {
    quiet.unsubscribe();
  }
}, 30_000);
