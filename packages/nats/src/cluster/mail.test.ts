import { LuactError } from '@luact/core';
import type { Envelope, MailRecipient, Pid, Signal } from '@luact/process';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MailLogRecord } from './mail-log.js';
import { encodeMailRecord, type MailRecord } from './mail-record.js';
import { MailTransport, type MailTransportOptions } from './mail-transport.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];
const transports: MailTransport[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await server?.stop();
});

/** What a node's process system was handed, in order. */
type Received =
  | { readonly kind: 'message'; readonly envelope: Envelope }
  | { readonly kind: 'signal'; readonly signal: Signal };

function recorder(refuse?: (envelope: Envelope) => LuactError | undefined) {
  const got: Received[] = [];
  const receiver: MailRecipient = {
    deliver: (envelope) => {
      const refused = refuse?.(envelope);
      if (!refused) got.push({ kind: 'message', envelope });
      return refused;
    },
    signal: (signal) => void got.push({ kind: 'signal', signal }),
  };
  return { got, receiver };
}

let suite = 0;

/** Transports of one test share a stream of their own; each has its own connection. */
function mailSpace() {
  suite += 1;
  const names = {
    stream: `MAIL_${suite}`,
    subjectPrefix: `t${suite}.mail`,
    blobBucket: `mail_${suite}`,
  };
  return {
    names,
    async open(
      node: string,
      incarnation: number,
      extra: Partial<MailTransportOptions> = {},
    ): Promise<MailTransport> {
      const connection = await connect({ servers: server.url });
      connections.push(connection);
      const transport = await MailTransport.open({
        connection,
        node,
        incarnation,
        ...names,
        // Held gaps are never given up on within a test unless it says so: a record that
        // waited for a gap that should not be there makes the test time out.
        gapHoldMs: 600_000,
        ...extra,
      });
      transports.push(transport);
      return transport;
    },
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (received: Received) =>
  received.kind === 'message'
    ? `${received.envelope.topic}:${new TextDecoder().decode(received.envelope.payload)}`
    : `${received.signal.kind}`;

function envelope(node: string, topic: string, body: string): Envelope {
  return { to: `{${node}@host|1}` as Pid, from: '{a@host|2}' as Pid, topic, payload: bytes(body) };
}

async function until(check: () => void, timeout = 60_000): Promise<void> {
  await vi.waitFor(check, { timeout, interval: 50 });
}

describe('MailTransport', () => {
  it('delivers 1,000 messages with signals among them once, in send order; two senders to one node keep their own order', async () => {
    const space = mailSpace();
    const a = await space.open('a', 1);
    const b = await space.open('b', 1);
    const c = await space.open('c', 1);
    const atB = recorder();
    const atC = recorder();
    b.attach(atB.receiver);
    c.attach(atC.receiver);

    const sends: Promise<void>[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      sends.push(a.sendRemote('b', envelope('b', 'n', `${i}`)) as Promise<void>);
      expected.push(`n:${i}`);
      if (i % 100 === 50) {
        const signal: Signal = {
          kind: 'cancel',
          to: '{b@host|1}' as Pid,
          from: '{a@host|2}' as Pid,
          at: BigInt(i),
          reason: `r${i}`,
        };
        sends.push(a.signalRemote('b', signal) as Promise<void>);
        expected.push('cancel');
      }
    }
    for (let i = 0; i < 200; i++) {
      sends.push(a.sendRemote('c', envelope('c', 'from-a', `${i}`)) as Promise<void>);
      sends.push(b.sendRemote('c', envelope('c', 'from-b', `${i}`)) as Promise<void>);
    }
    await Promise.all(sends);

    await until(() => expect(atB.got).toHaveLength(expected.length));
    expect(atB.got.map(text)).toEqual(expected);
    const reasons = atB.got.flatMap((r) =>
      r.kind === 'signal' && r.signal.kind === 'cancel' ? [r.signal.reason] : [],
    );
    expect(reasons).toEqual([
      'r50',
      'r150',
      'r250',
      'r350',
      'r450',
      'r550',
      'r650',
      'r750',
      'r850',
      'r950',
    ]);

    await until(() => expect(atC.got).toHaveLength(400));
    const fromA = atC.got.map(text).filter((t) => t.startsWith('from-a'));
    const fromB = atC.got.map(text).filter((t) => t.startsWith('from-b'));
    expect(fromA).toEqual(Array.from({ length: 200 }, (_, i) => `from-a:${i}`));
    expect(fromB).toEqual(Array.from({ length: 200 }, (_, i) => `from-b:${i}`));
    // Nothing more arrives later (no redelivery of acknowledged records).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(atB.got).toHaveLength(expected.length);
  }, 120_000);

  it('carries an exit signal whose outcome is a LuactError with kind, message and details intact', async () => {
    const space = mailSpace();
    const a = await space.open('a', 1);
    const b = await space.open('b', 1);
    const atB = recorder();
    b.attach(atB.receiver);
    const error = new LuactError('CONFLICT', 'order 42 was already shipped', {
      details: { order: 42, lines: [1, 2] },
    });
    await a.signalRemote('b', {
      kind: 'exit',
      to: '{b@host|1}' as Pid,
      from: '{a@host|9}' as Pid,
      at: 1_733_000_000_000_000_001n,
      outcome: { ok: false, error },
    });
    await until(() => expect(atB.got).toHaveLength(1));
    const [received] = atB.got;
    if (received?.kind !== 'signal' || received.signal.kind !== 'exit') throw new Error('no exit');
    expect(received.signal.at).toBe(1_733_000_000_000_000_001n);
    expect(received.signal.from).toBe('{a@host|9}');
    const outcome = received.signal.outcome;
    if (outcome.ok) throw new Error('the outcome lost its error');
    expect(outcome.error).toBeInstanceOf(LuactError);
    expect(outcome.error.toData()).toEqual({
      kind: 'CONFLICT',
      message: 'order 42 was already shipped',
      retryable: false,
      details: { order: 42, lines: [1, 2] },
    });
  }, 60_000);

  it('keeps the mail of a restarting node: sent while it is down, received once and in order by its next incarnation', async () => {
    const space = mailSpace();
    const a = await space.open('a', 1);
    const b1 = await space.open('b', 1);
    const first = recorder();
    b1.attach(first.receiver);
    for (let i = 0; i < 10; i++) await a.sendRemote('b', envelope('b', 'before', `${i}`));
    await until(() => expect(first.got).toHaveLength(10));
    await b1.close();

    // Each send resolves once stored, though nobody takes the mail now.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => a.sendRemote('b', envelope('b', 'while-down', `${i}`))),
    );

    const b2 = await space.open('b', 2);
    const second = recorder();
    b2.attach(second.receiver);
    await until(() => expect(second.got).toHaveLength(100));
    expect(second.got.map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `while-down:${i}`));
    expect(first.got).toHaveLength(10);
    await a.sendRemote('b', envelope('b', 'after', 'x'));
    await until(() => expect(second.got).toHaveLength(101));
  }, 120_000);

  it('acknowledges every record handed over, also one handed over as the receiving transport closes', async () => {
    const space = mailSpace();
    const a = await space.open('a', 1);
    const b = await space.open('b', 1);
    const got: string[] = [];
    let closing: Promise<void> | undefined;
    b.attach({
      deliver: (env) => {
        got.push(env.topic);
        // The last record's acknowledgement is still to be written when the close begins.
        if (env.topic === 'last') closing = b.close();
        return undefined;
      },
      signal: () => {},
    });
    for (let i = 0; i < 20; i++) await a.sendRemote('b', envelope('b', `m${i}`, `${i}`));
    await a.sendRemote('b', envelope('b', 'last', 'x'));
    await until(() => expect(closing).toBeDefined());
    await closing;
    expect(got).toHaveLength(21);
    // Acknowledged records leave the work-queue stream; none is left waiting for an ack.
    const jsm = await jetstreamManager(connections[connections.length - 1] as NatsConnection);
    await until(async () => {
      const consumer = await jsm.consumers.info(space.names.stream, 'b');
      expect([consumer.num_ack_pending, consumer.num_pending]).toEqual([0, 0]);
      expect((await jsm.streams.info(space.names.stream)).state.messages).toBe(0);
    });
  }, 60_000);

  it('delivers a record published twice (same message ID, or same sequence under another ID) once', async () => {
    const space = mailSpace();
    const b = await space.open('b', 1);
    const atB = recorder();
    b.attach(atB.receiver);
    const forge = forger(space.names.subjectPrefix, 'b');
    await forge.publish(record('x', 1, 1, 'one'), 'x.1.b.1');
    await forge.publish(record('x', 1, 2, 'two'), 'x.1.b.2');
    await forge.publish(record('x', 1, 2, 'two'), 'x.1.b.2'); // JetStream drops it
    await forge.publish(record('x', 1, 2, 'two'), 'x.1.b.2-again'); // the receiver drops it
    await forge.publish(record('x', 1, 1, 'one'), 'x.1.b.1-again');
    await forge.publish(record('x', 1, 3, 'three'), 'x.1.b.3');
    await until(() => expect(atB.got).toHaveLength(3));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(atB.got.map(text)).toEqual(['t:one', 't:two', 't:three']);
  }, 60_000);

  it('holds a gap until it is filled, or until its sender incarnation is forgotten', async () => {
    const space = mailSpace();
    const b = await space.open('b', 1);
    const atB = recorder();
    b.attach(atB.receiver);
    const forge = forger(space.names.subjectPrefix, 'b');
    await forge.publish(record('x', 1, 1, 'x1'));
    await forge.publish(record('x', 1, 3, 'x3'));
    await forge.publish(record('x', 1, 4, 'x4'));
    await forge.publish(record('y', 5, 1, 'y1'));
    await forge.publish(record('y', 5, 3, 'y3'));
    await until(() => expect(atB.got.map(text)).toEqual(['t:x1', 't:y1']));
    // x2 and y2 are missing: nothing after them is delivered while the gap is held.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(atB.got.map(text)).toEqual(['t:x1', 't:y1']);

    await forge.publish(record('x', 1, 2, 'x2'));
    await until(() => expect(atB.got.map(text)).toEqual(['t:x1', 't:y1', 't:x2', 't:x3', 't:x4']));

    b.forget('y', 5);
    await until(() => expect(atB.got).toHaveLength(6));
    expect(atB.got.map(text).at(-1)).toBe('t:y3');
    // What the dead incarnation sent and arrives afterwards is dropped; its successor is not.
    await forge.publish(record('y', 5, 2, 'y2'));
    await forge.publish(record('y', 6, 1, 'y6-1'));
    await until(() => expect(atB.got).toHaveLength(7));
    expect(atB.got.map(text).at(-1)).toBe('t:y6-1');
  }, 60_000);

  it('gives up on a gap after the hold time, delivers on and logs the missing sequences', async () => {
    const space = mailSpace();
    const logged: MailLogRecord[] = [];
    const b = await space.open('b', 1, { gapHoldMs: 1_000, log: (r) => void logged.push(r) });
    const atB = recorder();
    b.attach(atB.receiver);
    const forge = forger(space.names.subjectPrefix, 'b');
    await forge.publish(record('x', 1, 1, 'x1'));
    await forge.publish(record('x', 1, 4, 'x4'));
    await until(() => expect(atB.got.map(text)).toEqual(['t:x1', 't:x4']));
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: { sender: 'x', incarnation: 1, missing: ['2-3'] },
      }),
    );
    await forge.publish(record('x', 1, 2, 'late'));
    await forge.publish(record('x', 1, 5, 'x5'));
    await until(() => expect(atB.got.map(text)).toEqual(['t:x1', 't:x4', 't:x5']));
  }, 60_000);

  it('acknowledges and drops what the receiving node refuses, logging the PID', async () => {
    const space = mailSpace();
    const logged: MailLogRecord[] = [];
    const a = await space.open('a', 1);
    const b = await space.open('b', 1, { log: (r) => void logged.push(r) });
    const atB = recorder((env) =>
      env.topic === 'gone' ? new LuactError('NOT_FOUND', `${env.to} is not alive`) : undefined,
    );
    b.attach(atB.receiver);
    await a.sendRemote('b', envelope('b', 'gone', '1'));
    await a.sendRemote('b', envelope('b', 'here', '2'));
    await until(() => expect(atB.got.map(text)).toEqual(['here:2']));
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'debug',
        fields: expect.objectContaining({ receiver: '{b@host|1}', kind: 'NOT_FOUND' }),
      }),
    );
  }, 60_000);

  it('refuses bad options and node names with errors that name them', async () => {
    const space = mailSpace();
    const connection = await connect({ servers: server.url });
    connections.push(connection);
    await expect(
      MailTransport.open({ connection, node: 'a.b', incarnation: 1, ...space.names }),
    ).rejects.toMatchObject({ kind: 'INVALID', message: expect.stringContaining('node "a.b"') });
    await expect(
      MailTransport.open({ connection, node: 'a', incarnation: -1, ...space.names }),
    ).rejects.toMatchObject({ kind: 'INVALID', message: expect.stringContaining('incarnation') });
    const a = await space.open('a', 1);
    expect(a.sendRemote('b>', envelope('b', 't', ''))).toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('node "b>"'),
    });
    await a.close();
    expect(a.sendRemote('b', envelope('b', 't', ''))).toMatchObject({ kind: 'UNAVAILABLE' });
  }, 60_000);
});

function record(node: string, incarnation: number, seq: number, body: string): MailRecord {
  return {
    sender: { node, incarnation },
    seq,
    base: seq,
    skipped: [],
    body: { kind: 'message', envelope: envelope('b', 't', body) },
  };
}

/** Raw publishes of records onto a node's mail subject, as a misbehaving network might repeat them. */
function forger(prefix: string, node: string) {
  let connection: NatsConnection | undefined;
  return {
    async publish(mail: MailRecord, msgID?: string): Promise<void> {
      if (connection === undefined) {
        connection = await connect({ servers: server.url });
        connections.push(connection);
      }
      const id = msgID ?? `${mail.sender.node}.${mail.sender.incarnation}.${node}.${mail.seq}`;
      await jetstream(connection).publish(`${prefix}.${node}`, encodeMailRecord(mail), {
        msgID: id,
      });
    },
  };
}
