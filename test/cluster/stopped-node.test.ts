import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { logRecords } from '../src/luact-cli.js';
import { clusterSuite, downViews } from './cluster-nodes.js';

/**
 * T3 for processes: node b frozen (SIGSTOP) for 10 s, past the 4 s down bound, then thawed
 * (SIGCONT). The others declare it down meanwhile; b, thawed, learns it was expelled: its
 * `luact run` stops that node, so its processes never act as members again, and starts it
 * again, joining as a new incarnation.
 */

const FROZEN_MS = 10_000;

const { nodes, server } = clusterSuite('luact-cluster-stopped-');

it('declares a node frozen past the bound down, and the thawed node rejoins as a new incarnation', async () => {
  const b = await nodes.serve('st-b', [server().url]);
  const a = nodes.exec('st-a', [server().url], 'cluster:watch', ['st-b']);
  await a.cli.waitForLog({ msg: 'watching', node: 'st-b' }, 60_000);

  b.child.kill('SIGSTOP');
  try {
    const { code, result } = await a.result();
    expect(code, a.cli.stderr()).toBe(0);
    const down = { error: 'Unavailable', message: 'node down: st-b' };
    expect(result.value).toEqual({
      monitored: { kind: 'EXIT', ...down },
      linked: { kind: 'LINK_DOWN', ...down },
      watched: { kind: 'EXIT', ...down },
    });
    expect(downViews(a.cli).map((view) => view.down)).toEqual([['st-b']]);
    await sleep(Math.max(0, FROZEN_MS - 5_000));
  } finally {
    b.child.kill('SIGCONT');
  }

  // Thawed, b finds itself outside the view, stops that node, and joins again as a new one.
  const joins = () =>
    logRecords(b.stderr())
      .filter((record) => record.msg === 'joined the cluster')
      .map((record) => Number(record.incarnation));
  await expect.poll(() => joins().length, { timeout: 60_000 }).toBe(2);
  const expelled = logRecords(b.stderr()).find((record) =>
    String(record.msg).startsWith('expelled:'),
  );
  expect(expelled, b.stderr()).toBeDefined();
  expect(b.stderr()).toContain(
    'luact: node st-b was declared down by its cluster (cut off from NATS too long); it must start again to rejoin; stopping',
  );
  expect(b.stderr()).toContain('luact: node "st-b" rejoins the cluster as a new incarnation');
  const [first, second] = joins() as [number, number];
  expect(second).toBeGreaterThan(first);

  // The new incarnation plays with the others.
  await expect(
    nodes.exec('st-c', [server().url], 'cluster:ping', ['st-b', 10]).result(),
  ).resolves.toMatchObject({ code: 0, result: { ok: true, value: { rounds: 10 } } });
}, 120_000);

it('ends an --exec node frozen past the bound once thawed: expelled, its entry fails saying so', async () => {
  await nodes.serve('sx-b', [server().url]);
  const a = nodes.exec('sx-a', [server().url], 'cluster:watch', ['sx-b']);
  await a.cli.waitForLog({ msg: 'watching', node: 'sx-b' }, 60_000);

  a.cli.child.kill('SIGSTOP');
  try {
    await sleep(FROZEN_MS);
  } finally {
    a.cli.child.kill('SIGCONT');
  }
  const { code, result } = await a.result();
  expect(code).toBe(1);
  expect(result).toMatchObject({
    ok: false,
    error: {
      kind: 'UNAVAILABLE',
      message: expect.stringContaining(
        'cluster:watch ended with its node: node sx-a was declared down by its cluster',
      ),
    },
  });
}, 120_000);
