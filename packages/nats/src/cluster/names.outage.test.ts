import { LuactError } from '@luact/core';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeRegistry, openRegistry, type TestRegistry } from './names-testing.js';

let server: NatsServerHandle;
const opened: TestRegistry[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.splice(0).map(closeRegistry));
  await server?.stop();
});

it('fails registrations UNAVAILABLE while NATS is away, keeps answering lookups, and releases the name of a holder that ended meanwhile once NATS is back', async () => {
  const a = await openRegistry(server.url, 'a', 1, 'outage', 1, 1_000);
  const b = await openRegistry(server.url, 'b', 2, 'outage', 1, 1_000);
  opened.push(a, b);
  await a.registry.register('desk', a.pid(1));
  await expect.poll(() => b.registry.lookup('desk'), { timeout: 30_000 }).toBe(a.pid(1));

  await server.kill('SIGINT'); // a clean stop: the store is kept, the same port reused
  const refused = await b.registry.register('other', b.pid(1)).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(LuactError);
  expect((refused as LuactError).kind).toBe('UNAVAILABLE');
  expect((refused as LuactError).message).toContain('cluster name "other"');
  a.registry.ownerExited(a.pid(1)); // its release fails now, and is tried again later
  expect(b.registry.lookup('desk')).toBe(a.pid(1));
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await server.restart();

  await expect.poll(() => b.registry.lookup('desk'), { timeout: 60_000 }).toBeUndefined();
  await b.registry.register('desk', b.pid(2));
  await expect.poll(() => a.registry.lookup('desk'), { timeout: 30_000 }).toBe(b.pid(2));
}, 120_000);
