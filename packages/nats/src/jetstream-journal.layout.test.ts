import { encodeRecord } from '@luact/journal';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import { partitionOf } from './subjects.js';

let server: NatsServerHandle;
let connection: NatsConnection;
let streams = 0;
const opened: JetStreamJournal[] = [];
const created: string[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connect({ servers: server.url });
});

afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.shutdown();
  const jsm = await jetstreamManager(connection);
  for (const stream of created.splice(0)) await jsm.streams.delete(stream).catch(() => false);
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

function names() {
  streams++;
  const stream = `LAYOUT_${streams}`;
  created.push(stream);
  return { stream, subjectPrefix: `layout${streams}.journal` };
}

async function open(options: { stream: string; subjectPrefix: string; partitions?: number }) {
  const journal = await JetStreamJournal.open({ connection, ...options });
  opened.push(journal);
  return journal;
}

it('creates a stream with 64 partitions unless told otherwise, and records the count in it', async () => {
  const byDefault = names();
  expect((await open(byDefault)).partitions).toBe(64);
  const jsm = await jetstreamManager(connection);
  const marker = await jsm.streams.getMessage(byDefault.stream, {
    last_by_subj: `${byDefault.subjectPrefix}._meta`,
  });
  expect(marker?.json()).toEqual({ layout: 'partitioned-chain/1', partitions: 64 });

  const eight = names();
  const journal = await open({ ...eight, partitions: 8 });
  expect(journal.partitions).toBe(8);
  await journal.append('orders/1', 0, [{ n: 0 }]);
  const info = await jsm.streams.info(eight.stream, { subjects_filter: '>' });
  expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual(
    [
      `${eight.subjectPrefix}._meta`,
      `${eight.subjectPrefix}.${partitionOf('orders/1', 8)}.${Buffer.from('orders/1').toString('base64url')}`,
    ].sort(),
  );
});

it('reads an existing stream’s partition count back and refuses a different one', async () => {
  const names8 = names();
  const first = await open({ ...names8, partitions: 8 });
  await first.append('wf', 0, [{ n: 0 }]);
  const again = await open(names8);
  expect(again.partitions).toBe(8);
  expect(await again.read('wf')).toEqual([{ n: 0 }]);
  await expect(open({ ...names8, partitions: 16 })).rejects.toMatchObject({
    kind: 'INVALID',
    message: expect.stringContaining(
      `JetStream stream ${names8.stream} keeps its journals in 8 partitions`,
    ),
    details: { stream: names8.stream, partitions: 8, wanted: 16 },
  });
});

it('agrees on one partition count when journals open a new stream at once', async () => {
  const shared = names();
  const outcomes = await Promise.allSettled(
    [4, 8, 4, 8, 16].map((partitions) => open({ ...shared, partitions })),
  );
  const counts = new Set(
    outcomes.flatMap((outcome) =>
      outcome.status === 'fulfilled' ? [outcome.value.partitions] : [],
    ),
  );
  expect(counts.size).toBe(1);
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ kind: 'INVALID' });
  }
});

it('refuses a stream holding journals of the layout before partitions, naming it and what to do', async () => {
  const legacy = names();
  const jsm = await jetstreamManager(connection);
  await jsm.streams.add({ name: legacy.stream, subjects: [`${legacy.subjectPrefix}.>`] });
  // What the earlier journal wrote: <prefix>.<token> per journal, <prefix>.<token>.closed.
  const token = Buffer.from('orders/1').toString('base64url');
  await jetstream(connection).publish(`${legacy.subjectPrefix}.${token}`, encodeRecord({ n: 0 }));
  await expect(open(legacy)).rejects.toMatchObject({
    kind: 'INVALID',
    message: expect.stringMatching(
      new RegExp(
        `^JetStream stream ${legacy.stream} holds journals under ${legacy.subjectPrefix.replace('.', '\\.')} in the layout of an earlier luact.*nats stream rm ${legacy.stream}`,
      ),
    ),
    details: { stream: legacy.stream },
  });
  // Nothing was written to the stream it refused.
  expect((await jsm.streams.info(legacy.stream)).state.messages).toBe(1);
});
