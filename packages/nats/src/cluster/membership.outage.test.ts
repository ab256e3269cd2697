import { setTimeout as sleep } from 'node:timers/promises';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
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
const members: TestMember[] = [];

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await Promise.all(members.splice(0).map(dispose));
  await server?.stop();
});

it('declares nobody down while the only NATS server is away for 20 s; all fence, then unfence', async () => {
  for (const name of ['a', 'b', 'c']) {
    members.push(await joinMember(server.url, name, { prefix: 'outage', queues: ['app:orders'] }));
  }
  for (const m of members) {
    await expect
      .poll(() => memberNames(m.member.view).length === 3 && balanced(m.member.view), {
        timeout: 30_000,
      })
      .toBe(true);
  }
  const version = members[0]?.member.view.version;

  await server.kill('SIGINT'); // a clean stop: the store is kept, the same port reused
  await sleep(20_000);
  for (const m of members) expect(m.member.fenced).toBe(true);
  await server.restart();

  for (const m of members) {
    await expect
      .poll(() => m.events.filter((e) => e.kind !== 'view').map((e) => e.kind), { timeout: 60_000 })
      .toEqual(['fence', 'unfence']);
    expect(m.member.fenced).toBe(false);
  }
  // Past another downAfterMs with everyone beating again: still no view, nobody down.
  await sleep(TEST_TIMINGS.downAfterMs * 2);
  for (const m of members) {
    expect(m.state()).toBe('member');
    expect(m.member.view.version).toBe(version);
    expect(m.views.filter((view) => view.version > (version ?? 0))).toEqual([]);
  }
}, 150_000);
