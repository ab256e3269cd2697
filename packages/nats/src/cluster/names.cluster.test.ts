import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeRegistry, openRegistry, raceForNames, type TestRegistry } from './names-testing.js';

let cluster: NatsClusterHandle;
const opened: TestRegistry[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
}, 150_000); // the cluster's readiness deadline is 60 s (polled), with room for retries

afterAll(async () => {
  await Promise.all(opened.splice(0).map(closeRegistry));
  await cluster?.stop();
});

it('lets exactly one of two nodes register each name on R3, fresh or deleted (1,000 races each), and the stream says the same', async () => {
  // Each racer talks to its own server, so their writes reach the stream leader by different routes.
  const racers = [
    await openRegistry(cluster.urls[0] as string, 'a', 1, 'r3', 3),
    await openRegistry(cluster.urls[1] as string, 'b', 2, 'r3', 3),
  ] as const;
  const previous = await openRegistry(cluster.urls[2] as string, 'c', 3, 'r3', 3);
  opened.push(...racers, previous);
  const fresh = await raceForNames(racers, 'r3', 1_000);
  expect(fresh.winners.filter((count) => count !== 1)).toEqual([]);
  expect(fresh.badLosers).toEqual([]);
  expect(fresh.historyMismatches).toEqual([]);
  // Expecting no entry is checked when the write is applied, on R3 too.
  expect(fresh.doubleStored).toBe(0);
  const deleted = await raceForNames(racers, 'r3', 1_000, previous);
  expect(deleted.winners.filter((count) => count !== 1)).toEqual([]);
  expect(deleted.badLosers).toEqual([]);
  expect(deleted.historyMismatches).toEqual([]);
  console.log(
    `R3 races for a deleted name where both racers' writes were stored: ${deleted.doubleStored} of 1000`,
  );
}, 600_000);
