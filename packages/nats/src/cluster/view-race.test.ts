import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testConnection } from './membership-testing.js';
import { raceViewCommits } from './view-race.js';

let server: NatsServerHandle;
let connections: [NatsConnection, NatsConnection];

beforeAll(async () => {
  server = await startNatsServer();
  connections = [await testConnection(server.url), await testConnection(server.url)];
});

afterAll(async () => {
  await Promise.all((connections ?? []).map((connection) => connection.close()));
  await server?.stop();
});

it('lets exactly one of two members commit each next view version (1,000 races, R1)', async () => {
  const trials = 1_000;
  const { winners, stored } = await raceViewCommits(connections, 'race', 1, trials);
  expect(winners.filter((count) => count !== 1)).toEqual([]);
  expect(stored).toEqual(Array.from({ length: trials }, (_, i) => i + 1));
}, 120_000);
