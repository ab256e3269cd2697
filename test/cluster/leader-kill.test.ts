import { type NatsClusterHandle, startNatsCluster } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { logRecords } from '../src/luact-cli.js';
import { clusterNodes, downViews } from './cluster-nodes.js';

/**
 * T5: on a 3-server NATS cluster with the cluster's streams at 3 replicas, the server leading
 * LUACT_MAIL is SIGKILLed in the middle of a cross-node ping-pong: every ping and pong still
 * arrives once and in order (a loss stalls the game, a duplicate breaks its order check), and
 * the election does not get any node declared down.
 */

let cluster: NatsClusterHandle;
const nodes = clusterNodes('luact-cluster-leader-');

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(() => nodes.prepare());
afterEach(() => nodes.cleanUp());

/** The server name leading `stream`, as the first running server's monitoring sees it. */
async function leaderOf(stream: string): Promise<string | undefined> {
  for (const node of cluster.nodes) {
    if (!node.running) continue;
    const response = await fetch(`${node.monitorUrl}/jsz?streams=true`);
    const body = (await response.json()) as {
      account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
    };
    const found = (body.account_details ?? [])
      .flatMap((account) => account.stream_detail ?? [])
      .find((detail) => detail.name === stream);
    if (found?.cluster?.leader) return found.cluster.leader;
  }
  return undefined;
}

it('keeps a ping-pong whole and declares nobody down when the LUACT_MAIL leader is SIGKILLed', async ({
  annotate,
}) => {
  const servers = cluster.urls;
  // A send waits up to 60 s to be stored, not 15: on a loaded machine an election can fail
  // and start again (4–9 s each), and this test is about what arrives, not how soon.
  const flags = ['--replicas', '3', '--send-timeout', '60s'];
  const b = await nodes.serve('t5-b', servers, flags);
  const a = nodes.exec('t5-a', servers, 'cluster:ping', ['t5-b', 600], flags);
  await a.cli.waitForLog({ msg: 'round', round: 200 }, 120_000);

  const leader = await leaderOf('LUACT_MAIL');
  const victim = cluster.nodes.find((_, i) => `n${i + 1}` === leader);
  if (victim === undefined) throw new Error(`no server is named as LUACT_MAIL's leader: ${leader}`);
  await victim.kill();
  // The game was still in its rounds when the leader went.
  const roundsBefore = logRecords(a.cli.stderr()).filter((record) => record.msg === 'round');
  expect(roundsBefore.length).toBeLessThan(6);
  expect(a.cli.child.exitCode).toBeNull();
  await annotate(
    `killed ${leader}, the leader of LUACT_MAIL, after round ${roundsBefore.length * 100}`,
  );

  const { code, result } = await a.result();
  // The result first: when the game failed, its error says why.
  expect(result, a.cli.stderr()).toMatchObject({
    ok: true,
    value: { rounds: 600, answered: 1_200 },
  });
  expect(code).toBe(0);
  expect(downViews(a.cli, b)).toEqual([]);
  for (const cli of [a.cli, b]) expect(cli.stderr()).not.toContain('expelled');
  expect(b.child.exitCode).toBeNull();
  // A new leader took over on the two servers left.
  expect(await leaderOf('LUACT_MAIL')).not.toBe(leader);
}, 240_000);
