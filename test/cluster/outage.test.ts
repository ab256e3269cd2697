import { setTimeout as sleep } from 'node:timers/promises';
import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { logRecords, type RunningCli } from '../src/luact-cli.js';
import { clusterNodes, downViews } from './cluster-nodes.js';

/**
 * T6: every server of a 3-server NATS cluster (the cluster's streams at 3 replicas) down for
 * 20 s: the nodes fence themselves and carry on when the servers are back; nobody is declared
 * down; sends meanwhile fail with UNAVAILABLE after their bound, and the ping-pong plays on.
 */

const OUTAGE_MS = 20_000;

let cluster: NatsClusterHandle;
const R3 = ['--replicas', '3'];
const nodes = clusterNodes('luact-cluster-outage-');

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(() => nodes.prepare());
afterEach(() => nodes.cleanUp());

const FENCED = 'fenced: no beat acknowledged in time';

const said = (cli: RunningCli, msg: string) =>
  logRecords(cli.stderr()).filter((record) => record.msg === msg).length;

it('pauses the nodes while every NATS server is down 20 s and resumes them, with no node declared down', async ({
  annotate,
}) => {
  const servers = cluster.urls;
  const a = await nodes.serve('out-a', servers, R3);
  const b = await nodes.serve('out-b', servers, R3);
  const probe = nodes.exec('out-c', servers, 'cluster:outage', ['out-b', 20], R3);
  await probe.cli.waitForLog({ msg: 'ready' }, 60_000);

  await Promise.all(cluster.nodes.map((server) => server.kill()));
  await sleep(OUTAGE_MS);
  await Promise.all(cluster.nodes.map((server) => server.restart()));

  const { code, result } = await probe.result();
  expect(code, probe.cli.stderr()).toBe(0);
  const value = result.value as {
    failures: { kind: string; message: string; after_ms: number }[];
    rounds: number;
    unanswered: number;
  };
  // Pings stored but not answered within 2 s, while mail was not flowing yet after the restart.
  await annotate(`${value.unanswered} pings went unanswered for 2 s each after the outage`);
  // Mail flows again within seconds of the servers' return, not after a pull's 30 s default
  // expiry (19 such pings when the receiver's pulls waited that long; 3 since).
  expect(value.unanswered).toBeLessThan(15);
  // Sends during the outage failed, each after waiting out its bound, and said why.
  expect(value.failures.length).toBeGreaterThan(0);
  for (const failure of value.failures) {
    expect(failure.kind).toBe('Unavailable');
    expect(failure.message).toMatch(
      /^mail to node "out-b" was not stored by JetStream within 15\.0 s/,
    );
    expect(failure.after_ms).toBeGreaterThanOrEqual(14_000);
  }
  // Every node paused (fenced); the serving ones resumed as members, none was expelled.
  expect(said(probe.cli, FENCED), probe.cli.stderr()).toBeGreaterThan(0);
  for (const cli of [a, b]) {
    expect(said(cli, FENCED), cli.stderr()).toBeGreaterThan(0);
    await cli.waitForLog({ msg: 'unfenced: beats acknowledged and still a member' }, 60_000);
  }
  // The probe played on with b; a fresh node plays with a too.
  await expect(
    nodes.exec('out-d', servers, 'cluster:ping', ['out-a', 100], R3).result(),
  ).resolves.toMatchObject({ code: 0, result: { ok: true, value: { rounds: 100 } } });
  // Nobody was declared down at any point, and nobody was expelled.
  expect(downViews(a, b, probe.cli)).toEqual([]);
  for (const cli of [a, b, probe.cli]) expect(cli.stderr()).not.toContain('expelled');
  expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
}, 180_000);
