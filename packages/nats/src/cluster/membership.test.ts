import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Membership } from './membership.js';
import {
  balanced,
  dispose,
  joinMember,
  memberNames,
  TEST_TIMINGS,
  type TestMember,
  testConnection,
} from './membership-testing.js';

let server: NatsServerHandle;
let admin: NatsConnection;
const members: TestMember[] = [];
let prefixes = 0;
/** Each test has its own streams, so views of one test never meet another's. */
const freshPrefix = () => `m${++prefixes}`;

beforeAll(async () => {
  server = await startNatsServer();
  admin = await testConnection(server.url);
});

afterEach(async () => {
  await Promise.all(members.splice(0).map(dispose));
});

afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

async function join(name: string, prefix: string, options = {}): Promise<TestMember> {
  const member = await joinMember(server.url, name, { prefix, queues: ['app:orders'], ...options });
  members.push(member);
  return member;
}

describe('joining and leaving', () => {
  it('puts three members in one view, with distinct incarnations; a rejoin gets a greater one', async () => {
    const prefix = freshPrefix();
    const a = await join('a', prefix);
    const b = await join('b', prefix);
    const c = await join('c', prefix);
    for (const m of [a, b, c]) {
      await expect
        .poll(() => memberNames(m.member.view), { timeout: 30_000 })
        .toEqual(['a', 'b', 'c']);
    }
    const incarnations = [a, b, c].map((m) => m.member.incarnation);
    expect(new Set(incarnations).size).toBe(3);
    expect(a.member.view.members.b?.incarnation).toBe(b.member.incarnation);
    expect(c.member.view.changes).toEqual([
      { kind: 'joined', node: 'c', incarnation: c.member.incarnation },
    ]);

    await b.member.leave();
    expect(b.state()).toBe('left');
    await expect.poll(() => memberNames(a.member.view), { timeout: 30_000 }).toEqual(['a', 'c']);
    expect(a.views.at(-1)?.changes).toEqual([
      { kind: 'left', node: 'b', incarnation: b.member.incarnation },
    ]);
    const again = await join('b', prefix);
    expect(again.member.incarnation).toBeGreaterThan(b.member.incarnation);
    await expect
      .poll(() => memberNames(a.member.view), { timeout: 30_000 })
      .toEqual(['a', 'b', 'c']);

    // Every member saw the same views, each version once, in order.
    await expect.poll(() => c.member.view.version, { timeout: 30_000 }).toBe(a.member.view.version);
    const versions = (m: TestMember) => m.views.map((view) => view.version);
    expect(versions(a)).toEqual(
      Array.from({ length: versions(a).length }, (_, i) => (versions(a)[0] as number) + i),
    );
    expect(c.views).toEqual(
      a.views.slice(a.views.findIndex((v) => v.version === c.views[0]?.version)),
    );

    // A leaving member leaves no beat behind.
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info(`${prefix.toUpperCase()}_NODES`, {
      subjects_filter: `${prefix}.nodes.beat.>`,
    });
    expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([
      `${prefix}.nodes.beat.a`,
      `${prefix}.nodes.beat.b`,
      `${prefix}.nodes.beat.c`,
    ]);
  }, 120_000);

  it('replaces an older incarnation of the same node name, which is expelled', async () => {
    const prefix = freshPrefix();
    const first = await join('a', prefix);
    const second = await join('a', prefix);
    expect(second.member.incarnation).toBeGreaterThan(first.member.incarnation);
    expect(second.member.view.changes).toEqual([
      { kind: 'down', node: 'a', incarnation: first.member.incarnation },
      { kind: 'joined', node: 'a', incarnation: second.member.incarnation },
    ]);
    await expect.poll(() => first.state(), { timeout: 30_000 }).toBe('expelled');
    expect(first.events.map((e) => e.kind)).toEqual(['view', 'fence', 'expelled']);
    expect(first.member.fenced).toBe(true);
  }, 60_000);

  it('refuses bad options with errors naming the option', async () => {
    const connection = admin;
    const attempt = (options: Record<string, unknown>) =>
      Membership.join({ connection, node: 'a', ...options } as never);
    await expect(attempt({ node: 'a.b' })).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('"a.b" is not a node name'),
      details: { option: 'node' },
    });
    await expect(attempt({ fenceAfterMs: 5_000 })).rejects.toMatchObject({
      kind: 'INVALID',
      details: { option: 'fenceAfterMs' },
    });
    await expect(attempt({ heartbeatMs: 2_000 })).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('at least 3 × heartbeatMs'),
    });
    await expect(attempt({ queues: ['q', 'q'] })).rejects.toMatchObject({
      message: expect.stringContaining('queue q is listed twice'),
    });
    await expect(attempt({ partitions: 0 })).rejects.toMatchObject({
      message: expect.stringContaining('partitions is 0, not an integer from 1 to 100000'),
    });
    await expect(attempt({ connection: undefined })).rejects.toMatchObject({
      details: { option: 'connection' },
    });
  });

  it('refuses to join a cluster whose view has another partition count', async () => {
    const prefix = freshPrefix();
    await join('a', prefix, { partitions: 16 });
    await expect(join('b', prefix, { partitions: 32 })).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('partitions is 32, but the cluster'),
    });
  }, 60_000);

  it('refuses to join a cluster whose members run with another liveness timing, naming both', async () => {
    const prefix = freshPrefix();
    const a = await join('a', prefix);
    expect(a.member.view.members.a?.liveness).toEqual({
      heartbeatMs: TEST_TIMINGS.heartbeatMs,
      downAfterMs: TEST_TIMINGS.downAfterMs,
    });
    const slower = { heartbeatMs: 500, downAfterMs: 4_000, fenceAfterMs: 2_500 };
    await expect(join('b', prefix, slower)).rejects.toMatchObject({
      kind: 'INVALID',
      retryable: false,
      message: expect.stringContaining(
        "node b cannot join: its cluster's member a beats every 250 ms and declares a node down after 2000 ms without a beat, this node 500 and 4000 ms",
      ),
    });
    // With the same timing it joins, and a fence of its own is its own business.
    await join('b', prefix, { fenceAfterMs: 1_000 });
    await expect.poll(() => memberNames(a.member.view), { timeout: 30_000 }).toEqual(['a', 'b']);
  }, 60_000);
});

describe('liveness', () => {
  it('commits one view without a member that stopped beating, d to d + a few beats after its last beat', async () => {
    const prefix = freshPrefix();
    const a = await join('a', prefix);
    const b = await join('b', prefix);
    const c = await join('c', prefix);
    for (const m of [a, b, c]) {
      await expect
        .poll(() => memberNames(m.member.view).length === 3 && balanced(m.member.view), {
          timeout: 30_000,
        })
        .toBe(true);
    }
    const before = a.member.view.version;
    expect(b.member.view.version).toBe(before);
    await c.connection.close(); // no leave: c simply stops beating
    members.splice(members.indexOf(c), 1);

    for (const m of [a, b]) {
      await expect.poll(() => memberNames(m.member.view), { timeout: 30_000 }).toEqual(['a', 'b']);
    }
    const jsm = await jetstreamManager(admin);
    const lastBeat = await jsm.streams.getMessage(`${prefix.toUpperCase()}_NODES`, {
      last_by_subj: `${prefix}.nodes.beat.c`,
    });
    const downView = a.views.find((view) => view.members.c === undefined && view.version > before);
    expect(downView?.version).toBe(before + 1);
    expect(downView?.changes).toEqual([
      { kind: 'down', node: 'c', incarnation: c.member.incarnation },
    ]);
    // In server time: not before downAfterMs, and (loosely, the machine is loaded) soon after.
    const committedAt = a.member.viewCommittedAt;
    const sinceLastBeat = committedAt - (lastBeat?.time.getTime() ?? 0);
    expect(sinceLastBeat).toBeGreaterThan(TEST_TIMINGS.downAfterMs);
    expect(sinceLastBeat).toBeLessThan(
      TEST_TIMINGS.downAfterMs + 4 * TEST_TIMINGS.heartbeatMs + 3_000,
    );
    // One view per version, and the survivors saw the same sequence.
    const seen = (m: TestMember) => m.views.filter((v) => v.version >= before);
    expect(seen(b)).toEqual(seen(a));
    expect(a.member.fenced).toBe(false);
    expect(b.member.fenced).toBe(false);
  }, 90_000);
});

describe('partition owners in views', () => {
  it('assign nothing below minMembers, then move at most maxMovesPerView per view with epochs = view versions', async () => {
    const prefix = freshPrefix();
    const options = { partitions: 16, minMembers: 2, maxMovesPerView: 3 };
    const a = await join('a', prefix, options);
    expect(a.member.view.owners).toEqual({}); // one member, two wanted
    const b = await join('b', prefix, options);
    const assigned = b.member.view.owners['app:orders'] ?? [];
    expect(assigned).toHaveLength(16); // all at once: a first assignment is not a move
    expect(assigned.every((owner) => owner.epoch === b.member.view.version)).toBe(true);

    const c = await join('c', prefix, { ...options, queues: ['app:orders', 'app:mail'] });
    await expect
      .poll(() => balanced(a.member.view) && memberNames(a.member.view).length === 3, {
        timeout: 30_000,
      })
      .toBe(true);
    // Walk the views a saw from c's join on: each moves at most 3 partitions of app:orders,
    // and every partition that changed owner carries that view's version as its epoch.
    const joined = c.views[0]?.version ?? 0; // the view c joined in
    const fromJoin = a.views.filter((view) => view.version >= joined);
    for (const [i, view] of fromJoin.entries()) {
      const previous = i === 0 ? a.views[a.views.indexOf(view) - 1] : fromJoin[i - 1];
      const before = previous?.owners['app:orders'] ?? [];
      const after = view.owners['app:orders'] ?? [];
      const moved = after.filter((owner, p) => owner.node !== before[p]?.node);
      expect(moved.length).toBeLessThanOrEqual(3);
      for (const owner of moved) expect(owner.epoch).toBe(view.version);
      after.forEach((owner, p) => {
        expect(owner.epoch).toBeGreaterThanOrEqual(before[p]?.epoch ?? 0);
      });
    }
    expect(fromJoin.length).toBeGreaterThan(1); // the balance took more than one view
    // app:mail is served by c alone.
    expect(new Set((a.member.view.owners['app:mail'] ?? []).map((o) => o.node))).toEqual(
      new Set(['c']),
    );
  }, 90_000);
});
