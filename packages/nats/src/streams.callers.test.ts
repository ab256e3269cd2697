import { LuactError } from '@luact/core';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import {
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMailStream } from './cluster/mail-stream.js';
import { ensureMembershipStreams, membershipNames } from './cluster/membership-streams.js';
import { ensureNameBucket, nameBucket } from './cluster/names-stream.js';
import { ensureJournalStream } from './journal-stream.js';

// What each of luact's streams does when it is first ensured against an existing stream that
// conflicts with it, and while JetStream does not answer yet: all go through ensureStream.

let server: NatsServerHandle;
let connection: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connect({
    servers: server.url,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  jsm = await jetstreamManager(connection, { timeout: 1_000 });
}, 30_000);

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

interface Case {
  /** Ensures the stream(s) under `prefix`. */
  ensure(prefix: string): Promise<void>;
  /** The stream a conflicting one is made for: its name, subjects and retention. */
  stream(prefix: string): {
    readonly name: string;
    readonly subjects: string[];
    readonly retention: RetentionPolicy;
  };
}

const CASES: Record<string, Case> = {
  mail: {
    ensure: (prefix) =>
      ensureMailStream(jsm, { name: `${prefix}_MAIL`, subjects: `${prefix}.mail.*`, replicas: 1 }),
    stream: (prefix) => ({
      name: `${prefix}_MAIL`,
      subjects: [`${prefix}.mail.*`],
      retention: RetentionPolicy.Workqueue,
    }),
  },
  journal: {
    ensure: (prefix) =>
      ensureJournalStream(jsm, {
        name: `${prefix}_JOURNAL`,
        subjects: `${prefix}.journal.>`,
        replicas: 1,
        maxAge: 0,
      }),
    stream: (prefix) => ({
      name: `${prefix}_JOURNAL`,
      subjects: [`${prefix}.journal.>`],
      retention: RetentionPolicy.Limits,
    }),
  },
  membership: {
    ensure: (prefix) => ensureMembershipStreams(jsm, membershipNames(prefix), 1),
    stream: (prefix) => {
      const names = membershipNames(prefix);
      return {
        name: names.nodesStream,
        subjects: [names.nodesSubjects],
        retention: RetentionPolicy.Limits,
      };
    },
  },
  names: {
    ensure: (prefix) => ensureNameBucket(jsm, nameBucket(prefix), 1),
    stream: (prefix) => {
      const bucket = nameBucket(prefix);
      return { name: bucket.stream, subjects: [bucket.filter], retention: RetentionPolicy.Limits };
    },
  },
};

let prefixes = 0;
const nextPrefix = () => `st${++prefixes}`;

describe.each(Object.keys(CASES))('the %s stream', (kind) => {
  const ensure = CASES[kind] as Case;

  it('is created, and ensured again unchanged', async () => {
    const prefix = nextPrefix();
    await ensure.ensure(prefix);
    const { name } = ensure.stream(prefix);
    const created = (await jsm.streams.info(name)).created;
    await ensure.ensure(prefix);
    expect((await jsm.streams.info(name)).created).toBe(created);
  });

  it('refuses an existing stream in memory storage with INVALID naming it, and leaves it', async () => {
    const prefix = nextPrefix();
    const { name, subjects, retention } = ensure.stream(prefix);
    await jsm.streams.add({ name, subjects, retention, storage: StorageType.Memory });
    const error = await ensure.ensure(prefix).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(LuactError);
    expect(error).toMatchObject({
      kind: 'INVALID',
      retryable: false,
      message: expect.stringContaining(`JetStream stream ${name} exists with memory storage`),
    });
    expect((await jsm.streams.info(name)).config.storage).toBe(StorageType.Memory);
  });

  it('is created once JetStream answers again after an outage', async () => {
    const prefix = nextPrefix();
    await server.kill();
    const ensured = ensure.ensure(prefix);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await server.restart();
    await ensured;
    expect((await jsm.streams.info(ensure.stream(prefix).name)).config.name).toBe(
      ensure.stream(prefix).name,
    );
  }, 60_000);
});
