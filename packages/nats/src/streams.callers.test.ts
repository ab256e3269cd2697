import { LuactError } from '@luact/core';
import {
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureMailStream } from './cluster/mail-stream.js';
import { ensureMembershipStreams, membershipNames } from './cluster/membership-streams.js';
import { ensureNameBucket, nameBucket } from './cluster/names-stream.js';
import { ensureJournalStream } from './journal-stream.js';
import { natsServerAndConnection } from './testing/nats-server.js';

// What each of luact's streams does when it is first ensured against an existing stream that
// conflicts with it, and while JetStream does not answer yet: all go through ensureStream.

const nats = natsServerAndConnection();
let jsm: JetStreamManager;

beforeAll(async () => {
  jsm = await jetstreamManager(nats.connection, { timeout: 1_000 });
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
    await nats.server.kill();
    const ensured = ensure.ensure(prefix);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await nats.server.restart();
    await ensured;
    expect((await jsm.streams.info(ensure.stream(prefix).name)).config.name).toBe(
      ensure.stream(prefix).name,
    );
  }, 60_000);
});
