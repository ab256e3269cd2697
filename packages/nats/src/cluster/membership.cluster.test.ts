import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  balanced,
  dispose,
  joinMember,
  memberNames,
  type TestMember,
  testConnection,
} from './membership-testing.js';
import { raceViewCommits } from './view-race.js';

let cluster: NatsClusterHandle;
let connections: [NatsConnection, NatsConnection];
const members: TestMember[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  // The two racers talk to different servers, so their publishes reach the leader by different routes.
  connections = [
    await testConnection(cluster.urls[0] as string),
    await testConnection(cluster.urls[1] as string),
  ];
}, 150_000); // the cluster's readiness deadline is 60 s (polled), with room for retries

afterAll(async () => {
  await Promise.all(members.splice(0).map(dispose));
  await Promise.all((connections ?? []).map((connection) => connection.close()));
  await cluster?.stop();
});

it('lets exactly one of two members commit each next view version on R3 (1,000 races)', async () => {
  const trials = 1_000;
  const { winners, stored } = await raceViewCommits(connections, 'race3', 3, trials);
  expect(winners.filter((count) => count !== 1)).toEqual([]);
  expect(stored).toEqual(Array.from({ length: trials }, (_, i) => i + 1));
}, 300_000);

it('forms one view of three members on R3 streams, each member on its own server', async () => {
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    const url = cluster.urls[i] as string;
    members.push(
      await joinMember(url, name, { prefix: 'r3', replicas: 3, queues: ['app:orders'] }),
    );
  }
  for (const m of members) {
    await expect
      .poll(() => memberNames(m.member.view).length === 3 && balanced(m.member.view), {
        timeout: 60_000,
      })
      .toBe(true);
  }
  const versions = members.map((m) => m.member.view.version);
  expect(new Set(versions).size).toBe(1);
}, 120_000);
