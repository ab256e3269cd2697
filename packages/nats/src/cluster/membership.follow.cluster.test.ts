/**
 * Followers (the ordered consumers membership reads views and beats with) when the server
 * holding a follower's consumer is SIGKILLed. An ordered consumer is R1: it lives on one server
 * of the stream's peers, not necessarily the one its client is connected to, so a client that
 * keeps its connection can lose its consumer. Every client here talks to n1 only, and the
 * server killed is another one that holds a consumer.
 */
import { type NatsClusterHandle, type NatsClusterNode, startNatsCluster } from '@luact/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Follower, follow } from './membership-follow.js';
import {
  dispose,
  joinMember,
  memberNames,
  type TestMember,
  testConnection,
} from './membership-testing.js';

/** How long a follower may go without a message it should have had (the bug: for ever). */
const SEEN_WITHIN_MS = 30_000;

let cluster: NatsClusterHandle;
let nc: NatsConnection;
let killed: NatsClusterNode | undefined;

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  nc = await testConnection(cluster.urls[0] as string);
}, 150_000);

afterEach(async () => {
  // Back to three servers for the next test, every stream current again.
  if (killed !== undefined) {
    await killed.restart();
    killed = undefined;
    await cluster.waitForMetaLeader(60_000);
  }
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** The servers (`n1`…) that hold each consumer of `stream`. */
async function consumerServers(stream: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const servers: string[] = [];
  for await (const info of jsm.consumers.list(stream)) {
    if (info.cluster?.leader !== undefined) servers.push(info.cluster.leader);
  }
  return servers;
}

/** A server other than n1 that holds one of `stream`'s consumers, if any. */
async function serverHoldingConsumer(stream: string): Promise<NatsClusterNode | undefined> {
  const held = (await consumerServers(stream)).filter((server) => server !== 'n1');
  const name = held[0];
  return cluster.nodes.find((_, i) => `n${i + 1}` === name);
}

async function killServer(node: NatsClusterNode): Promise<void> {
  killed = node;
  await node.kill();
}

/** Publishes, retrying while the stream elects a new leader. */
async function publishUntilStored(subject: string, data: string): Promise<number> {
  const js = jetstream(nc);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return (await js.publish(subject, data, { msgID: `${subject}-${data}` })).seq;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Starts followers of `stream` (on `connection`, each reading the whole stream) until one's
 * consumer sits on `server` (at most 24 followers); returns what each read.
 */
async function followUntilOneOn(
  connection: NatsConnection,
  stream: string,
  server: (name: string) => boolean,
  followers: Follower[],
): Promise<{ received: string[][]; victim: NatsClusterNode | undefined }> {
  const js = jetstream(connection);
  const received: string[][] = [];
  let victim: NatsClusterNode | undefined;
  while (victim === undefined && followers.length < 24) {
    const seen: string[] = [];
    received.push(seen);
    followers.push(
      follow({
        connection,
        js,
        stream,
        filter: `${stream.toLowerCase()}.>`,
        history: true,
        onMessage: (message) => seen.push(message.string()),
        onError: () => undefined,
        retryMs: 250,
      }),
    );
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(1);
    const name = (await consumerServers(stream)).find(server);
    victim = cluster.nodes.find((_, i) => `n${i + 1}` === name);
  }
  return { received, victim };
}

/** A stream of three replicas holding one message, `m0`. */
async function streamWithOneMessage(stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`], num_replicas: 3 });
  await publishUntilStored(`${stream.toLowerCase()}.x`, 'm0');
}

/** Publishes m1…m3 and expects every follower to read m0…m3 in order within SEEN_WITHIN_MS. */
async function expectEveryFollowerReadsOn(stream: string, received: string[][]): Promise<void> {
  const expected = ['m0', 'm1', 'm2', 'm3'];
  for (const data of expected.slice(1)) await publishUntilStored(`${stream.toLowerCase()}.x`, data);
  for (const seen of received) {
    await expect.poll(() => seen, { timeout: SEEN_WITHIN_MS }).toEqual(expected);
  }
}

it('a follower whose consumer was on a SIGKILLed server gets every new message within seconds', async () => {
  const stream = 'FOLLOWED';
  await streamWithOneMessage(stream);
  const followers: Follower[] = [];
  try {
    // Each consumer lands on one of the three servers: soon one is on n2 or n3.
    const { received, victim } = await followUntilOneOn(
      nc,
      stream,
      (server) => server !== 'n1',
      followers,
    );
    expect(victim, 'no consumer landed on n2 or n3').toBeDefined();
    await killServer(victim as NatsClusterNode);
    await expectEveryFollowerReadsOn(stream, received);
  } finally {
    await Promise.all(followers.map((follower) => follower.stop()));
  }
}, 180_000);

it('a follower whose connection and consumer were on the same SIGKILLed server gets every new message after reconnecting', async () => {
  const stream = 'REFOLLOWED';
  await streamWithOneMessage(stream);
  // Connected to n2 first, so it reconnects to n1 when n2 dies.
  const connection = await testConnection([cluster.urls[1] as string, cluster.urls[0] as string]);
  const followers: Follower[] = [];
  try {
    const { received, victim } = await followUntilOneOn(
      connection,
      stream,
      (server) => server === 'n2',
      followers,
    );
    expect(victim, 'no consumer landed on n2').toBeDefined();
    await killServer(victim as NatsClusterNode);
    await expectEveryFollowerReadsOn(stream, received);
  } finally {
    await Promise.all(followers.map((follower) => follower.stop()));
    await connection.close();
  }
}, 180_000);

const members: TestMember[] = [];
afterEach(async () => {
  await Promise.all(members.splice(0).map(dispose));
});

it('every member sees each view committed after the server holding its view consumer was SIGKILLed', async () => {
  const url = cluster.urls[0] as string;
  const options = { prefix: 'fk', replicas: 3, partitions: 8, queues: ['app:orders'] };
  const names = ['a', 'b', 'c', 'e', 'f', 'g'];
  let victim: NatsClusterNode | undefined;
  for (const name of names) {
    members.push(await joinMember(url, name, options));
    if (members.length >= 3) {
      victim = await serverHoldingConsumer('FK_VIEW');
      if (victim !== undefined) break;
    }
  }
  expect(victim, 'no view consumer landed on n2 or n3').toBeDefined();
  const everyone = members.map((m) => m.name).sort();
  for (const m of members) {
    await expect.poll(() => memberNames(m.member.view), { timeout: 60_000 }).toEqual(everyone);
  }
  const seenBeforeKill = new Map(members.map((m) => [m, m.views.length]));
  await killServer(victim as NatsClusterNode);
  // The victim may have led the meta group: joining needs a JetStream API that answers.
  await cluster.waitForMetaLeader(60_000);

  // A new member joins, then leaves: two new views every member must see.
  const late = await joinMember(url, 'd', options);
  members.push(late);
  for (const m of members) {
    await expect
      .poll(() => memberNames(m.member.view).includes('d'), { timeout: SEEN_WITHIN_MS })
      .toBe(true);
  }
  await late.member.leave();
  for (const m of members.filter((m) => m !== late)) {
    await expect
      .poll(() => memberNames(m.member.view), { timeout: SEEN_WITHIN_MS })
      .toEqual(everyone);
  }
  // Nobody was declared down on the way: every view since the kill holds everyone.
  for (const [m, seen] of seenBeforeKill) {
    const since = m.views.slice(seen);
    expect(since.length).toBeGreaterThanOrEqual(2);
    for (const view of since) expect(memberNames(view)).toEqual(expect.arrayContaining(everyone));
  }
}, 240_000);
