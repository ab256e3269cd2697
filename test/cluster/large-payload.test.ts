import { expect, it } from 'vitest';
import { CLUSTER_APP, clusterSuite } from './cluster-nodes.js';

/**
 * A message five times the server's max_payload goes from a process on one node to one on
 * another and back (by reference, through the mail object store, which keeps nothing after).
 */

const MIB = 1024 * 1024;

const { nodes, server } = clusterSuite('luact-cluster-large-', CLUSTER_APP, {
  maxPayload: MIB,
  monitoring: true,
});

/** Bytes stored in each stream, from the server's monitoring endpoint. */
async function streamBytes(): Promise<Map<string, number>> {
  const response = await fetch(`${server().monitorUrl}/jsz?streams=true`);
  const body = (await response.json()) as {
    account_details?: { stream_detail?: { name: string; state: { bytes: number } }[] }[];
  };
  return new Map(
    (body.account_details ?? []).flatMap((account) =>
      (account.stream_detail ?? []).map((stream) => [stream.name, stream.state.bytes] as const),
    ),
  );
}

it('carries a 5 MiB payload across nodes and back, byte for byte, on a server with max_payload 1 MiB', async () => {
  await nodes.serve('big-b', [server().url]);
  const a = nodes.exec('big-a', [server().url], 'cluster:large', ['big-b', 5]);
  const { code, result } = await a.result();
  expect(code, a.cli.stderr()).toBe(0);
  expect(result.value).toEqual({ sent: 5 * MIB, received: 5 * MIB, same: true });
  // Both payloads went through the object store and were removed once delivered.
  const stored = await streamBytes();
  expect(stored.has('OBJ_luact_mail')).toBe(true);
  expect(stored.get('OBJ_luact_mail')).toBeLessThan(MIB);
  expect(stored.get('LUACT_MAIL')).toBeLessThan(MIB);
}, 120_000);
