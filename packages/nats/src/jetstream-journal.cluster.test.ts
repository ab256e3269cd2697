import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';

let cluster: NatsClusterHandle;
let connection: NatsConnection;
/** One connection per server, so racing writers reach the stream leader from every side. */
let perServer: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  connection = await connect({ servers: [...cluster.urls] });
  perServer = await Promise.all(cluster.urls.map((url) => connect({ servers: url })));
}, 150_000); // the cluster's readiness deadline is 60 s (polled), with room for retries

afterAll(async () => {
  await Promise.all([connection, ...perServer].map((each) => each?.close()));
  await cluster?.stop();
});

it('keeps journals on three replicas of a cluster', async () => {
  const journal = await JetStreamJournal.open({ connection, replicas: 3 });
  expect(journal.durability).toMatch(/^JetStream R3 /);
  const info = await (await jetstreamManager(connection)).streams.info('LUACT_JOURNAL');
  expect(info.config.num_replicas).toBe(3);

  await journal.append('orders/1', 0, [{ event: 'Started' }, { event: 'ActivityCompleted' }]);
  await journal.append('orders/1', 2, [{ event: 'Completed' }]);
  expect(await journal.read('orders/1')).toEqual([
    { event: 'Started' },
    { event: 'ActivityCompleted' },
    { event: 'Completed' },
  ]);
  await journal.close('orders/1');
  expect(await journal.list()).toEqual([{ id: 'orders/1', length: 3, closed: true }]);
  await journal.shutdown();
}, 60_000);

it('lets one of 12 writers racing for the same place on an R3 stream win, the same for every reader', async () => {
  // On 2.9.10 R3 the expected last subject sequence lets several such publishes through
  // (expectations.cluster.test.ts); the message ID naming the place lets only one.
  const options = { stream: 'RACE_R3', subjectPrefix: 'race.journal', replicas: 3 };
  const first = await JetStreamJournal.open({ connection, ...options });
  await vi.waitFor(
    async () => {
      const state = (await jetstreamManager(connection)).streams.info('RACE_R3');
      const replicas = (await state).cluster?.replicas ?? [];
      if (replicas.length !== 2 || !replicas.every((replica) => replica.current)) {
        throw new Error('RACE_R3 not fully replicated yet');
      }
    },
    { timeout: 60_000, interval: 200 },
  );
  const writers = await Promise.all(
    Array.from({ length: 12 }, (_, index) =>
      JetStreamJournal.open({ connection: perServer[index % 3] as NatsConnection, ...options }),
    ),
  );
  for (let round = 0; round < 5; round++) {
    const id = `race-${round}`;
    await first.append(id, 0, [{ n: 0 }]);
    await Promise.all(writers.map((writer) => writer.read(id))); // each knows the journal
    const outcomes = await Promise.allSettled(
      writers.map((writer, index) => writer.append(id, 1, [{ n: 1, writer: index }])),
    );
    const won = outcomes.flatMap((outcome, index) =>
      outcome.status === 'fulfilled' ? [index] : [],
    );
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ kind: 'CONFLICT' });
    }
    const expected = [{ n: 0 }, { n: 1, writer: won[0] }];
    for (const reader of [first, ...writers]) expect(await reader.read(id)).toEqual(expected);
  }
  await Promise.all([first, ...writers].map((journal) => journal.shutdown()));
}, 120_000);
