import { LuactError } from '@luact/core';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dispose, joinMember, type TestMember, testConnection } from './membership-testing.js';
import { askNodes, OpsEndpoint, opsSubject } from './ops.js';
import { readClusterStatus } from './ops-status.js';

let server: NatsServerHandle;
let connection: NatsConnection;
const endpoints: OpsEndpoint[] = [];
const members: TestMember[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  connection = await testConnection(server.url);
}, 30_000);

afterEach(async () => {
  for (const endpoint of endpoints.splice(0)) endpoint.close();
  await Promise.all(members.splice(0).map(dispose));
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

function serve(node: string, handle: Parameters<typeof OpsEndpoint.serve>[2], prefix = 'ops1') {
  const endpoint = OpsEndpoint.serve(connection, node, handle, prefix);
  endpoints.push(endpoint);
  return endpoint;
}

describe('the operations endpoint', () => {
  it('answers each node for itself, in the order asked, with the route and query it was given', async () => {
    for (const node of ['a', 'b']) serve(node, (request) => JSON.stringify({ node, ...request }));
    await connection.flush();
    const answers = await askNodes(
      connection,
      ['b', 'a'],
      { route: '/processes', query: { limit: '3' } },
      { prefix: 'ops1' },
    );
    expect([...answers.keys()]).toEqual(['b', 'a']);
    expect(answers.get('a')).toEqual({
      state: 'answered',
      value: { node: 'a', route: '/processes', query: { limit: '3' } },
    });
    expect(answers.get('b')).toMatchObject({ state: 'answered', value: { node: 'b' } });
  });

  it('lists a node nobody serves as silent at once, and one too slow as silent after the bound', async () => {
    serve('slow', () => new Promise<string>(() => {}));
    await connection.flush();
    const answers = await askNodes(
      connection,
      ['gone', 'slow'],
      { route: '/node', query: {} },
      { prefix: 'ops1', timeoutMs: 500 },
    );
    expect(answers.get('gone')).toEqual({ state: 'silent', reason: 'nothing listens for it' });
    expect(answers.get('slow')).toEqual({ state: 'silent', reason: 'no answer within 500 ms' });
  });

  it("passes on the node's error with its kind", async () => {
    serve('a', (request) => {
      throw new LuactError('NOT_FOUND', `no ${request.route} here`);
    });
    await connection.flush();
    const answers = await askNodes(
      connection,
      ['a'],
      { route: '/nope', query: {} },
      { prefix: 'ops1' },
    );
    const answer = answers.get('a');
    expect(answer?.state).toBe('refused');
    if (answer?.state !== 'refused') return;
    expect(answer.error.kind).toBe('NOT_FOUND');
    expect(answer.error.message).toBe('no /nope here');
  });

  it('refuses a request that is not {route, query} as INVALID, saying what it must be', async () => {
    serve('a', () => 'null');
    await connection.flush();
    for (const bad of ['not json', '[]', '{"route": 3}', '{"route": "/x", "query": {"a": 1}}']) {
      const reply = await connection.request(opsSubject('ops1', 'a'), bad, { timeout: 5_000 });
      const body = JSON.parse(reply.string()) as {
        ok: boolean;
        error: { kind: string; message: string };
      };
      expect(body.ok).toBe(false);
      expect(body.error.kind).toBe('INVALID');
      expect(body.error.message).toContain('an operations request must be {"route": "/…"');
    }
  });

  it("refuses an answer larger than the server's max payload, naming the sizes", async () => {
    const limit = connection.info?.max_payload ?? 0;
    expect(limit).toBeGreaterThan(0);
    serve('a', () => JSON.stringify('x'.repeat(limit)));
    await connection.flush();
    const answer = (
      await askNodes(connection, ['a'], { route: '/processes', query: {} }, { prefix: 'ops1' })
    ).get('a');
    expect(answer?.state).toBe('refused');
    if (answer?.state !== 'refused') return;
    expect(answer.error.kind).toBe('INVALID');
    expect(answer.error.message).toMatch(
      /the answer to \/processes is \d+ bytes, over what NATS carries here/,
    );
  });
});

describe('readClusterStatus', () => {
  it('is undefined when no node ever joined under the prefix', async () => {
    expect(await readClusterStatus(connection, 'nobody')).toBeUndefined();
  });

  it('gives the members with their incarnations, boot and last beat times, and the partition owners', async () => {
    const before = Date.now();
    const a = await joinMember(server.url, 'a', { prefix: 'ops2', queues: ['app:flows'] });
    members.push(a);
    const b = await joinMember(server.url, 'b', { prefix: 'ops2', queues: ['app:flows'] });
    members.push(b);
    await expect
      .poll(
        async () => Object.keys((await readClusterStatus(connection, 'ops2'))?.view.members ?? {}),
        {
          timeout: 30_000,
        },
      )
      .toEqual(['a', 'b']);
    const status = await readClusterStatus(connection, 'ops2');
    expect(status?.members.map((m) => [m.node, m.incarnation, m.queues])).toEqual([
      ['a', a.member.incarnation, ['app:flows']],
      ['b', b.member.incarnation, ['app:flows']],
    ]);
    for (const member of status?.members ?? []) {
      expect(member.bootedAt).toBeGreaterThanOrEqual(before - 5_000);
      expect(member.lastBeatAt).toBeGreaterThanOrEqual(member.bootedAt ?? 0);
    }
    expect(status?.committedAt).toBeGreaterThanOrEqual(before - 5_000);
    const owners = status?.view.owners['app:flows'] ?? [];
    expect(owners).toHaveLength(status?.view.partitions ?? -1);
    expect(new Set(owners.map((owner) => owner.node))).toEqual(new Set(['a', 'b']));
  }, 60_000);
});
