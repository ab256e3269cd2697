import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PublishAttempt, publishDurably } from './durable-publish.js';
import { isWrongLastSequence } from './nats-errors.js';
import { ReplyInbox } from './reply-inbox.js';
import { natsServerAndConnection } from './testing/nats-server.js';

const nats = natsServerAndConnection();
let js: JetStreamClient;
let jsm: JetStreamManager;
let inbox: ReplyInbox;

beforeAll(async () => {
  js = jetstream(nats.connection);
  jsm = await jetstreamManager(nats.connection);
  inbox = new ReplyInbox(nats.connection);
});

afterAll(() => {
  inbox?.close();
});

let stream = '';
let n = 0;
beforeEach(async () => {
  n += 1;
  stream = `DP${n}`;
  // After a test that restarted the server, the client may still be redialling.
  await vi.waitFor(
    () => jsm.streams.add({ name: stream, subjects: [`dp${n}.>`], max_msg_size: 1_000 }),
    { timeout: 30_000, interval: 200 },
  );
}, 40_000);

async function messageCount(): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

// The mail and the journal publish through a ReplyInbox, everything else through the client: both must
// behave alike under publishDurably.
describe.each([
  ['the JetStream client', () => js, (c: NatsConnection): PublishAttempt => jetstream(c)],
  ['a ReplyInbox', () => inbox, (c: NatsConnection): PublishAttempt => new ReplyInbox(c)],
] as const)('through %s', (_, attempt, attemptOn) => {
  it('stores a message once however often it is published with the same ID', async () => {
    const first = await publishDurably(attempt(), `dp${n}.a`, 'one', { msgID: 'm-1' });
    const again = await publishDurably(attempt(), `dp${n}.a`, 'one', { msgID: 'm-1' });
    expect(first).toMatchObject({ stream, seq: 1, duplicate: false });
    expect(again).toMatchObject({ stream, seq: 1, duplicate: true });
    expect(await messageCount()).toBe(1);
  });

  it('answers a repeat of a stored publish with its ack, even when its expectation is now stale', async () => {
    const subject = `dp${n}.a`;
    const options = { msgID: 'm-1', expect: { lastSubjectSequence: 0 } };
    const first = await publishDurably(attempt(), subject, 'one', options);
    // The subject's last sequence is now 1, yet the message ID is checked first.
    const repeat = await publishDurably(attempt(), subject, 'one', options);
    expect(repeat).toEqual({ ...first, duplicate: true });
  });

  it('sends the caller’s headers with the message and leaves the caller’s object as it was', async () => {
    const { headers } = await import('@nats-io/transport-node');
    const mine = headers();
    mine.set('Luact-Test', 'kept');
    const ack = await publishDurably(attempt(), `dp${n}.a`, 'one', { msgID: 'm-1', headers: mine });
    const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });
    expect(stored?.header.get('Luact-Test')).toBe('kept');
    expect(stored?.header.get('Nats-Msg-Id')).toBe('m-1');
    expect([...mine.keys()]).toEqual(['Luact-Test']);
  });

  it('hands back a wrong-last-sequence refusal at once, as JetStream raised it (not retried)', async () => {
    const subject = `dp${n}.a`;
    await publishDurably(attempt(), subject, 'one', { msgID: 'm-1' });
    // A budget this long would outlast the test if the refusal were retried.
    const failure = await publishDurably(attempt(), subject, 'two', {
      msgID: 'm-2',
      expect: { lastSubjectSequence: 0 },
      budgetMs: 60_000,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JetStreamApiError);
    expect(isWrongLastSequence(failure)).toBe(true);
    expect(await messageCount()).toBe(1);
  }, 20_000);

  it('hands back a message-too-large refusal at once, as JetStream raised it', async () => {
    const failure = await publishDurably(attempt(), `dp${n}.a`, 'x'.repeat(2_000), {
      msgID: 'big',
      budgetMs: 60_000,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JetStreamApiError);
    expect((failure as JetStreamApiError).message).toMatch(/maximum/i);
    expect(await messageCount()).toBe(0);
  }, 20_000);

  it('refuses a budget beyond the duplicate window’s safe range, and an empty message ID', async () => {
    await expect(
      publishDurably(attempt(), `dp${n}.a`, 'x', { msgID: 'm', budgetMs: 120_000 }),
    ).rejects.toMatchObject({ kind: 'INVALID', message: expect.stringMatching(/budgetMs/) });
    await expect(publishDurably(attempt(), `dp${n}.a`, 'x', { msgID: '' })).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringMatching(/msgID/),
    });
  });

  it('keeps publishing while the server is down and stores the message once after it is back', async () => {
    const subject = `dp${n}.outage`;
    await nats.server.kill();
    const published = publishDurably(attempt(), subject, 'during the outage', {
      msgID: 'outage-1',
      budgetMs: 30_000,
      attemptTimeoutMs: 500,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // several attempts go unanswered
    await nats.server.restart();
    const ack = await published;
    expect(ack).toMatchObject({ stream, seq: 1 });
    expect(await messageCount()).toBe(1);
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(stored?.string()).toBe('during the outage');
  }, 60_000);

  it('fails UNAVAILABLE naming the subject and the time waited when the server stays down past the budget', async () => {
    const subject = `dp${n}.lost`;
    await nats.server.kill();
    try {
      const started = Date.now();
      const failure = await publishDurably(attempt(), subject, 'x', {
        msgID: 'lost-1',
        budgetMs: 2_000,
        attemptTimeoutMs: 500,
      }).catch((error: unknown) => error);
      const waited = Date.now() - started;
      expect(failure).toMatchObject({
        name: 'LuactError',
        kind: 'UNAVAILABLE',
        retryable: true,
        message: expect.stringMatching(
          new RegExp(
            `^publish to ${subject.replace('.', '\\.')} not acknowledged by JetStream after \\d+\\.\\d s \\(\\d+ attempts`,
          ),
        ),
        details: expect.objectContaining({ subject }),
      });
      expect(waited).toBeGreaterThanOrEqual(2_000); // it kept trying for the whole budget
    } finally {
      await nats.server.restart();
    }
  }, 60_000);

  it('stops retrying when its signal aborts, failing CANCELED', async () => {
    await nats.server.kill();
    try {
      const controller = new AbortController();
      const published = publishDurably(attempt(), `dp${n}.cancel`, 'x', {
        msgID: 'c-1',
        budgetMs: 60_000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 300);
      await expect(published).rejects.toMatchObject({
        kind: 'CANCELED',
        message: expect.stringMatching(/may or may not have been stored/),
      });
    } finally {
      await nats.server.restart();
    }
  }, 60_000);

  it('fails UNAVAILABLE at once on a closed connection', async () => {
    const closed = await connect({ servers: nats.server.url });
    const closedAttempt = attemptOn(closed);
    await closed.close();
    await expect(
      publishDurably(closedAttempt, `dp${n}.a`, 'x', { msgID: 'z', budgetMs: 60_000 }),
    ).rejects.toMatchObject({
      kind: 'UNAVAILABLE',
      message: expect.stringMatching(/connection is closed/),
    });
  }, 20_000);
});
