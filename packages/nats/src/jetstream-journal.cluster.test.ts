import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';

let cluster: NatsClusterHandle;
let connection: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  connection = await connect({ servers: [...cluster.urls] });
}, 150_000); // the cluster's readiness deadline is 60 s (polled), with room for retries

afterAll(async () => {
  await connection?.close();
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
