import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, expect, it, vi } from 'vitest';
import { publishDurably } from './durable-publish.js';
import { natsClusterAndConnection } from './testing/nats-server.js';

const nats = natsClusterAndConnection();
let publisher: NatsConnection | undefined;

afterAll(async () => {
  await publisher?.close();
});

const STREAM = 'DURABLE_R3';
const TOTAL = 200;
const WORKERS = 8;

it('stores each of 200 messages once while the stream leader is killed mid-way', async () => {
  const jsm = await jetstreamManager(nats.connection);
  await jsm.streams.add({ name: STREAM, subjects: ['durable.>'], num_replicas: 3 });
  const leader = await streamLeader();
  // Publish through the leader itself, so its death also cuts the connection: publishes in
  // flight get no answer and the client redials another server.
  const leaderUrl = nats.cluster.nodes.find((node) => node.name === leader)?.url ?? '';
  publisher = await connect({
    servers: [leaderUrl, ...nats.cluster.urls.filter((url) => url !== leaderUrl)],
    noRandomize: true,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  const js = jetstream(publisher);

  let next = 0;
  let acked = 0;
  let killed: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < TOTAL; i = next++) {
      await publishDurably(js, `durable.${i % 7}`, `message ${i}`, {
        msgID: `m-${i}`,
        budgetMs: 60_000, // an election on a loaded machine may take several seconds
      });
      acked += 1;
      if (acked === TOTAL / 4) {
        killed = nats.cluster.nodes.find((node) => node.name === leader)?.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  expect(killed).toBeDefined();
  await killed;

  // Read everything back from the surviving replicas: each ID once, none missing.
  // (The killed server may have been the meta leader too: API requests wait for elections.)
  const info = await vi.waitFor(() => jsm.streams.info(STREAM), { timeout: 60_000, interval: 500 });
  expect(info.cluster?.leader).not.toBe(leader);
  expect(info.state.messages).toBe(TOTAL);
  const consumer = await vi.waitFor(() => jetstream(nats.connection).consumers.get(STREAM), {
    timeout: 60_000,
    interval: 500,
  });
  const ids: string[] = [];
  const messages = await consumer.fetch({ max_messages: TOTAL, expires: 10_000 });
  for await (const message of messages) {
    ids.push(message.headers?.get('Nats-Msg-Id') ?? '');
    if (ids.length === TOTAL) break;
  }
  expect(new Set(ids).size).toBe(TOTAL);
  expect([...ids].sort()).toEqual(Array.from({ length: TOTAL }, (_, i) => `m-${i}`).sort());
}, 180_000);

/** The stream's leader, once it has one (a fresh R3 stream elects it within a few seconds). */
async function streamLeader(): Promise<string> {
  const jsm = await jetstreamManager(nats.connection);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await jsm.streams.info(STREAM);
    const leader = info.cluster?.leader;
    const current = info.cluster?.replicas?.filter((replica) => replica.current).length ?? 0;
    if (leader !== undefined && current === 2) return leader;
    if (Date.now() > deadline)
      throw new Error(`stream ${STREAM} has no leader with two current replicas`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
