import { LuactError } from '@luact/core';
import {
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { beforeAll, expect, it, vi } from 'vitest';
import { isUnreachable } from './nats-errors.js';
import { ensureStream, type StreamRequirements } from './streams.js';
import { natsServerAndConnection } from './testing/nats-server.js';

const nats = natsServerAndConnection();
let jsm: JetStreamManager;

beforeAll(async () => {
  jsm = await jetstreamManager(nats.connection, { timeout: 1_000 });
});

let streams = 0;

/** Requirements of a stream of its own for each test. */
function requirements(): StreamRequirements {
  const n = ++streams;
  return {
    name: `ENSURED_${n}`,
    holds: 'test records',
    subjects: [`ensured${n}.>`],
    fixed: { storage: StorageType.File, retention: RetentionPolicy.Limits },
    settings: { max_msgs_per_subject: 5, max_age: nanos(600_000), num_replicas: 1 },
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

it('creates a missing stream with its fixed settings, settings and subjects', async () => {
  const wanted = requirements();
  await ensureStream(jsm, wanted);
  const { config } = await jsm.streams.info(wanted.name);
  expect(config).toMatchObject({
    subjects: wanted.subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_msgs_per_subject: 5,
    max_age: nanos(600_000),
  });
});

it('brings an existing stream in line, keeps subjects it has besides ours, and leaves one in line alone', async () => {
  const wanted = requirements();
  await jsm.streams.add({
    name: wanted.name,
    subjects: ['theirs.>'],
    max_msgs_per_subject: 2,
  });
  await ensureStream(jsm, wanted);
  const { config } = await jsm.streams.info(wanted.name);
  expect(config.subjects).toEqual(['theirs.>', ...wanted.subjects]);
  expect(config).toMatchObject({ max_msgs_per_subject: 5, max_age: nanos(600_000) });

  const update = vi.spyOn(jsm.streams, 'update');
  try {
    await ensureStream(jsm, wanted);
    expect(update).not.toHaveBeenCalled();
  } finally {
    update.mockRestore();
  }
});

it('refuses an existing stream whose fixed settings differ, naming it, and leaves it as it is', async () => {
  const wanted = requirements();
  await jsm.streams.add({
    name: wanted.name,
    subjects: [...wanted.subjects],
    retention: RetentionPolicy.Interest,
  });
  const error = await failure(ensureStream(jsm, wanted));
  expect(error).toBeInstanceOf(LuactError);
  expect(error).toMatchObject({
    kind: 'INVALID',
    retryable: false,
    message: `JetStream stream ${wanted.name} exists with interest retention, but it must have limits retention to hold test records (a stream's retention cannot change: remove it with nats stream rm ${wanted.name}, or use another stream)`,
    details: { stream: wanted.name, setting: 'retention', found: 'interest', wanted: 'limits' },
  });
  expect((await jsm.streams.info(wanted.name)).config.retention).toBe(RetentionPolicy.Interest);
});

it('turns a create or an update the server refuses into INVALID with its reason', async () => {
  // Subjects another stream captures: the create is refused (twice: it is looked at again).
  await jsm.streams.add({ name: 'OVERLAPPED', subjects: ['overlapped.>'] });
  const overlapping = { ...requirements(), subjects: ['overlapped.a.>'] };
  const created = await failure(ensureStream(jsm, overlapping));
  expect(created).toBeInstanceOf(LuactError);
  expect(created).toMatchObject({
    kind: 'INVALID',
    retryable: false,
    message: expect.stringMatching(
      new RegExp(
        `^JetStream refused to create stream ${overlapping.name} to hold test records: .+ \\(JetStream error \\d+\\)$`,
      ),
    ),
  });
  // A max age below the existing stream's duplicate window (2 min): the update is refused.
  const short = { ...requirements(), settings: { max_age: nanos(60_000) } };
  await jsm.streams.add({ name: short.name, subjects: [...short.subjects] });
  const updated = await failure(ensureStream(jsm, short));
  expect(updated).toMatchObject({
    kind: 'INVALID',
    message: `JetStream refused to update stream ${short.name} to hold test records: duplicates window can not be larger then max age (JetStream error 10052)`,
    details: { stream: short.name, code: 10052 },
  });
});

it('lets several nodes ensure one new stream at once', async () => {
  const wanted = requirements();
  const others = await Promise.all([1, 2, 3].map(() => connect({ servers: nats.server.url })));
  try {
    const managers = await Promise.all(others.map((other) => jetstreamManager(other)));
    await Promise.all(managers.map((manager) => ensureStream(manager, wanted)));
    expect((await jsm.streams.info(wanted.name)).config.subjects).toEqual(wanted.subjects);
  } finally {
    await Promise.all(others.map((other) => other.close()));
  }
});

it('tries again while JetStream does not answer, and gives up after its bound', async () => {
  const wanted = requirements();
  await nats.server.kill();
  try {
    const error = await failure(ensureStream(jsm, wanted, { retryForMs: 2_000 }));
    expect(isUnreachable(error)).toBe(true);
  } finally {
    await nats.server.restart();
  }
  // Back within the bound: created.
  await nats.server.kill();
  const ensured = ensureStream(jsm, wanted, { retryForMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await nats.server.restart();
  await ensured;
  expect((await jsm.streams.info(wanted.name)).config.name).toBe(wanted.name);
}, 60_000);
