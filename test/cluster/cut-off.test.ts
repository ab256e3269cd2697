import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxyHandle } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logRecords, type RunningCli } from '../src/luact-cli.js';
import { clusterSuite, downViews } from './cluster-nodes.js';

/**
 * T7: node b cut off from NATS for 15 s (its only connection goes through a TCP proxy that
 * holds all traffic): b fences itself before the others commit the view without it, the
 * others' watchers get node down, and when traffic flows again b learns it was expelled and
 * rejoins as a new incarnation.
 */

const CUT_MS = 15_000;

const { nodes, server } = clusterSuite('luact-cluster-cut-');
let proxy: TcpProxyHandle;

beforeAll(async () => {
  proxy = await startTcpProxy({ targetPort: server().port });
}, 30_000);
afterAll(async () => {
  await proxy?.close();
});

/** When `cli` logged its first record with `msg`, in ms since 1970. */
const loggedAt = (cli: RunningCli, msg: string) => {
  const record = logRecords(cli.stderr()).find((r) => String(r.msg).startsWith(msg));
  return record === undefined ? undefined : Date.parse(String(record.time));
};

it('fences a cut-off node before the others declare it down; it rejoins as a new incarnation', async () => {
  const b = await nodes.serve('cut-b', [proxy.url]);
  const a = nodes.exec('cut-a', [server().url], 'cluster:watch', ['cut-b']);
  await a.cli.waitForLog({ msg: 'watching', node: 'cut-b' }, 60_000);

  proxy.pause();
  try {
    const { code, result } = await a.result();
    expect(code, a.cli.stderr()).toBe(0);
    expect(result.value).toMatchObject({
      monitored: { kind: 'EXIT', message: 'node down: cut-b' },
      linked: { kind: 'LINK_DOWN', message: 'node down: cut-b' },
    });
    await sleep(Math.max(0, CUT_MS - 5_000));
  } finally {
    proxy.resume();
  }

  // b stopped writing (fenced) before a committed the view that dropped it.
  const fenced = loggedAt(b, 'fenced: no beat acknowledged in time');
  const [dropped] = downViews(a.cli);
  expect(fenced, b.stderr()).toBeDefined();
  expect(dropped?.down).toEqual(['cut-b']);
  expect(fenced).toBeLessThan(Date.parse(String(dropped?.time)));

  // Back on NATS, b finds itself expelled and joins again as a new incarnation.
  const joins = () =>
    logRecords(b.stderr())
      .filter((record) => record.msg === 'joined the cluster')
      .map((record) => Number(record.incarnation));
  await expect.poll(() => joins().length, { timeout: 60_000 }).toBe(2);
  expect(loggedAt(b, 'expelled:')).toBeDefined();
  const [first, second] = joins() as [number, number];
  expect(second).toBeGreaterThan(first);
  await expect(
    nodes.exec('cut-c', [server().url], 'cluster:ping', ['cut-b', 10]).result(),
  ).resolves.toMatchObject({ code: 0, result: { ok: true, value: { rounds: 10 } } });
}, 180_000);
