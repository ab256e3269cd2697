import {
  type NatsServerHandle,
  startNatsServer,
  startTcpProxy,
  type TcpProxyHandle,
} from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  balanced,
  dispose,
  joinMember,
  memberNames,
  TEST_TIMINGS,
  type TestMember,
} from './membership-testing.js';

let server: NatsServerHandle;
let proxy: TcpProxyHandle;
const members: TestMember[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  proxy = await startTcpProxy({ targetPort: server.port });
});

afterAll(async () => {
  proxy?.resume();
  await Promise.all(members.splice(0).map(dispose));
  await proxy?.close();
  await server?.stop();
});

it('fences a member cut off from NATS before the others commit a view without it; it is expelled on return and rejoins', async () => {
  const options = { prefix: 'cut', queues: ['app:orders'] };
  const a = await joinMember(server.url, 'a', options);
  const b = await joinMember(server.url, 'b', options);
  const c = await joinMember(proxy.url, 'c', options);
  members.push(a, b, c);
  for (const m of members) {
    await expect
      .poll(() => memberNames(m.member.view).length === 3 && balanced(m.member.view), {
        timeout: 30_000,
      })
      .toBe(true);
  }
  const before = a.member.view.version;
  const cOwned = (a.member.view.owners['app:orders'] ?? []).filter((o) => o.node === 'c').length;
  expect(cOwned).toBeGreaterThan(0);

  proxy.pause(); // c hears nothing and is heard by nobody, without any error
  await expect.poll(() => memberNames(a.member.view), { timeout: 30_000 }).toEqual(['a', 'b']);
  const downView = a.events.find(
    (e) => e.kind === 'view' && (e.version ?? 0) > before && e.committedAt !== undefined,
  );
  expect(downView?.version).toBe(before + 1);
  expect(a.views.find((v) => v.version === before + 1)?.changes).toEqual([
    { kind: 'down', node: 'c', incarnation: c.member.incarnation },
  ]);
  // c's partitions moved at once, each at the down view's epoch.
  const moved = (a.views.find((v) => v.version === before + 1)?.owners['app:orders'] ?? []).filter(
    (o) => o.epoch === before + 1,
  );
  expect(moved.length).toBeGreaterThanOrEqual(cOwned);
  expect(moved.every((o) => o.node !== 'c')).toBe(true);

  // c fenced itself before the view without it was committed (same machine: comparable clocks).
  const fence = c.events.find((e) => e.kind === 'fence');
  expect(fence).toBeDefined();
  expect(c.member.fenced).toBe(true);
  expect(fence?.at).toBeLessThan(downView?.committedAt ?? 0);
  expect(c.state()).toBe('member'); // it cannot know yet

  proxy.resume();
  await expect.poll(() => c.state(), { timeout: 30_000 }).toBe('expelled');
  expect(c.events.filter((e) => e.kind !== 'view').map((e) => e.kind)).toEqual([
    'fence',
    'expelled',
  ]);
  expect(c.member.fenced).toBe(true);

  // It joins again, as a new incarnation, on the same connection.
  const again = await joinMember(proxy.url, 'c', options, c.connection);
  members.push(again);
  expect(again.member.incarnation).toBeGreaterThan(c.member.incarnation);
  await expect.poll(() => memberNames(a.member.view), { timeout: 30_000 }).toEqual(['a', 'b', 'c']);
  expect(a.member.view.members.c?.incarnation).toBe(again.member.incarnation);
  expect(TEST_TIMINGS.fenceAfterMs).toBeLessThan(TEST_TIMINGS.downAfterMs);
}, 120_000);
