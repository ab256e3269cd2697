import { LuactError } from '@luact/core';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { entryFrom, holderRecord, lastEntry, nameBucket } from './names-stream.js';
import { closeRegistry, openRegistry, raceForNames, type TestRegistry } from './names-testing.js';

let server: NatsServerHandle;
const opened: TestRegistry[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.splice(0).map(closeRegistry));
  await server?.stop();
});

async function registry(node: string, incarnation: number, prefix: string): Promise<TestRegistry> {
  const test = await openRegistry(server.url, node, incarnation, prefix);
  opened.push(test);
  return test;
}

it('lets exactly one of two nodes register each name, fresh or deleted (1,000 races each, R1), and every reader agrees', async () => {
  const a = await registry('a', 1, 'race');
  const b = await registry('b', 2, 'race');
  const c = await registry('c', 3, 'race');
  const fresh = await raceForNames([a, b], 'race', 1_000);
  expect(fresh.winners.filter((count) => count !== 1)).toEqual([]);
  expect(fresh.badLosers).toEqual([]);
  expect(fresh.historyMismatches).toEqual([]);
  const deleted = await raceForNames([a, b], 'race', 1_000, c);
  expect(deleted.winners.filter((count) => count !== 1)).toEqual([]);
  expect(deleted.badLosers).toEqual([]);
  expect(deleted.historyMismatches).toEqual([]);
  // R1 checks every expectation when it applies the write: never two stored.
  expect(fresh.doubleStored + deleted.doubleStored).toBe(0);
  // A node that starts now reads the same holders as the racers.
  const late = await registry('d', 4, 'race');
  for (const prefix of ['fresh', 'deleted']) {
    for (let trial = 1; trial <= 1_000; trial++) {
      const name = `${prefix}-${trial}`;
      const holder = late.registry.lookup(name);
      expect(holder, name).toMatch(/^\{[ab]~[12]@app:p\|\d+\}$/);
      await expect.poll(() => a.registry.lookup(name)).toBe(holder);
      await expect.poll(() => b.registry.lookup(name)).toBe(holder);
    }
  }
}, 300_000);

it('answers lookups on other nodes from the bucket it follows, and releases a name when its holder exits', async () => {
  const a = await registry('a', 1, 'follow');
  const b = await registry('b', 2, 'follow');
  await a.registry.register('desk', a.pid(1));
  expect(a.registry.lookup('desk')).toBe(a.pid(1));
  expect(a.registry.heldBy(a.pid(1))).toBe(1);
  await expect.poll(() => b.registry.lookup('desk'), { timeout: 30_000 }).toBe(a.pid(1));
  // Registering again is a no-op for the holder, ALREADY_EXISTS for anyone else.
  await a.registry.register('desk', a.pid(1));
  const refused = await b.registry.register('desk', b.pid(1)).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(LuactError);
  expect((refused as LuactError).kind).toBe('ALREADY_EXISTS');
  expect((refused as LuactError).message).toBe(
    `cluster name "desk" is already registered by ${a.pid(1)}`,
  );
  a.registry.ownerExited(a.pid(1));
  await expect.poll(() => b.registry.lookup('desk'), { timeout: 30_000 }).toBeUndefined();
  expect(a.registry.heldBy(a.pid(1))).toBe(0);
  await b.registry.register('desk', b.pid(1));
  await expect.poll(() => a.registry.lookup('desk'), { timeout: 30_000 }).toBe(b.pid(1));
  // Any node may release a name; the holder's node drops it from its process's names.
  await a.registry.unregister('desk');
  await expect.poll(() => b.registry.heldBy(b.pid(1)), { timeout: 30_000 }).toBe(0);
  expect(b.revoked).toEqual([]);
}, 120_000);

it('releases the names of an incarnation declared down once, however many nodes release them, and a late registration of it too', async () => {
  const a = await registry('a', 1, 'down');
  const b = await registry('b', 2, 'down');
  const c = await registry('c', 3, 'down');
  const names = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
  for (const [i, name] of names.entries()) await a.registry.register(name, a.pid(i));
  for (const name of names)
    await expect
      .poll(() => c.registry.lookup(name), { timeout: 30_000 })
      .toBe(a.pid(names.indexOf(name)));
  await expect.poll(() => b.registry.lookup('svc-19'), { timeout: 30_000 }).toBe(a.pid(19));
  b.registry.nodeDown({ node: 'a', incarnation: 1 });
  c.registry.nodeDown({ node: 'a', incarnation: 1 });
  for (const name of names) {
    await expect.poll(() => b.registry.lookup(name), { timeout: 30_000 }).toBeUndefined();
    await expect.poll(() => c.registry.lookup(name), { timeout: 30_000 }).toBeUndefined();
  }
  // One marker per name: the key's last entry is the marker, and the one before is the PUT.
  const jsm = await jetstreamManager(b.connection);
  const bucket = nameBucket('down');
  for (const name of names) {
    const last = await lastEntry(jsm, bucket, bucket.subject(name));
    expect(last?.op, name).toBe('delete');
    const put = await entryFrom(jsm, bucket, bucket.subject(name), 1);
    expect(put?.op, name).toBe('put');
    const after = await entryFrom(jsm, bucket, bucket.subject(name), (put?.seq ?? 0) + 1);
    expect(after?.seq, name).toBe(last?.seq);
  }
  // A registration of the dead incarnation stored after the others released its names (a
  // zombie's late write) is released as soon as it is read.
  await jetstream(a.connection).publish(bucket.subject('late'), holderRecord(a.pid(99), 'a', 1));
  await expect
    .poll(() => lastEntry(jsm, bucket, bucket.subject('late')).then((e) => e?.op), {
      timeout: 30_000,
    })
    .toBe('delete');
  await expect.poll(() => c.registry.lookup('late'), { timeout: 30_000 }).toBeUndefined();
}, 120_000);

it('tells the holder its registration was revoked when a release meant for an earlier holder ends it', async () => {
  const a = await registry('a', 1, 'stale');
  await a.registry.register('queue', a.pid(1));
  const bucket = nameBucket('stale');
  // A marker naming an era that is not the holder's: a release that came too late.
  const marker = headers();
  marker.set('KV-Operation', 'DEL');
  marker.set('Luact-Era', '1000000');
  await jetstream(a.connection).publish(bucket.subject('queue'), undefined, { headers: marker });
  await expect.poll(() => a.revoked, { timeout: 30_000 }).toEqual([`queue ${a.pid(1)}`]);
  expect(a.registry.lookup('queue')).toBeUndefined();
  expect(a.registry.heldBy(a.pid(1))).toBe(0);
}, 60_000);

it('names the bucket in the key and keeps any printable name', async () => {
  const a = await registry('a', 1, 'keys');
  const b = await registry('b', 2, 'keys');
  const name = 'orders.eu/*> ünïcödé';
  await a.registry.register(name, a.pid(1));
  await expect.poll(() => b.registry.lookup(name), { timeout: 30_000 }).toBe(a.pid(1));
  const bucket = nameBucket('keys');
  expect(bucket.subject(name)).toMatch(/^\$KV\.keys_names\.[A-Za-z0-9_-]+$/);
  expect(bucket.nameOf(bucket.subject(name))).toBe(name);
}, 60_000);
