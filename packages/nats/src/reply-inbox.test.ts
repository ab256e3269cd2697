import { startNatsServer } from '@luact/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  headers,
  NoRespondersError,
  PermissionViolationError,
  TimeoutError,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ReplyInbox } from './reply-inbox.js';
import { natsServerAndConnection } from './testing/nats-server.js';

// How ReplyInbox answers publishDurably is tested with the client side by side in
// durable-publish.test.ts; these are its own cases: plain requests, deadlines, no responders,
// closing.

const nats = natsServerAndConnection();
let inbox: ReplyInbox;

beforeAll(async () => {
  const jsm = await jetstreamManager(nats.connection);
  await jsm.streams.add({ name: 'ACKS', subjects: ['acks.>'] });
  inbox = new ReplyInbox(nats.connection);
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

it('answers each plain request with its own answer, headers as sent', async () => {
  const echo = nats.connection.subscribe('echo.>', {
    callback: (_error, msg) => {
      msg.respond(`${msg.subject}:${msg.string()}:${msg.headers?.get('X') ?? ''}`);
    },
  });
  await nats.connection.flush();
  try {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const sent = headers();
        sent.set('X', `h${i}`);
        return inbox.request(`echo.${i % 3}`, `${i}`, 30_000, i % 2 === 0 ? sent : undefined);
      }),
    );
    expect(answers.map((answer) => answer.string())).toEqual(
      Array.from({ length: 50 }, (_, i) => `echo.${i % 3}:${i}:${i % 2 === 0 ? `h${i}` : ''}`),
    );
  } finally {
    echo.unsubscribe();
  }
}, 30_000);

it('fails a plain request nothing listens to with NoRespondersError, one nobody answers with TimeoutError', async () => {
  await expect(inbox.request('nobody.there', 'x', 30_000)).rejects.toBeInstanceOf(
    NoRespondersError,
  );
  const quiet = nats.connection.subscribe('quiet.z');
  await nats.connection.flush();
  try {
    await expect(inbox.request('quiet.z', 'x', 200)).rejects.toBeInstanceOf(TimeoutError);
  } finally {
    quiet.unsubscribe();
  }
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
  const ownInbox = new ReplyInbox(own);
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

it('fails the requests waiting when closed with a reason, and every later one, with that reason', async () => {
  const own = await connect({ servers: nats.server.url });
  const ownInbox = new ReplyInbox(own);
  const quiet = nats.connection.subscribe('quiet.w');
  await nats.connection.flush();
  try {
    const waiting = ownInbox.request('quiet.w', 'x', 30_000).catch((error) => error);
    await own.flush();
    const reason = new Error('shut down');
    ownInbox.close(reason);
    expect(await waiting).toBe(reason);
    await expect(ownInbox.request('acks.x', 'x', 30_000)).rejects.toBe(reason);
    expect(own.isClosed()).toBe(false); // the connection is the caller's
  } finally {
    quiet.unsubscribe();
    await own.close();
  }
}, 30_000);

it('refuses requests once its connection drains, as the client does', async () => {
  const own = await connect({ servers: nats.server.url });
  const ownInbox = new ReplyInbox(own);
  const draining = own.drain();
  await expect(ownInbox.request('acks.x', 'x', 1_000)).rejects.toBeInstanceOf(
    DrainingConnectionError,
  );
  await draining;
}, 30_000);

it('fails its requests with the error of a subscription the server refuses', async () => {
  const server = await startNatsServer({
    jetstream: false,
    users: [{ user: 'u', password: 'p', denySubscribe: ['_INBOX.>'] }],
  });
  const own = await connect({ servers: server.url, user: 'u', pass: 'p' });
  try {
    const ownInbox = new ReplyInbox(own);
    // Asked before the refusal arrives: no answer could reach it, so it fails with it.
    const early = ownInbox.request('any.subject', 'x', 5_000).catch((error) => error);
    expect(await early).toBeInstanceOf(PermissionViolationError);
    await expect(ownInbox.request('any.subject', 'x', 5_000)).rejects.toBeInstanceOf(
      PermissionViolationError,
    );
  } finally {
    await own.close();
    await server.stop();
  }
}, 30_000);
