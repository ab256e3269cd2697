import { decodeValue } from '@luact/lua';
import { JetStreamJournal, type NatsConnection, partitionOf, WorkflowChannel } from '@luact/nats';
import type { ExitOutcome, Pid } from '@luact/process';
import {
  type NatsServerHandle,
  startNatsServer,
  startTcpProxy,
  type TcpProxyHandle,
} from '@luact/testkit';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type ClusterSettings, Node } from './node.js';
import { writeApp } from './testing/app.js';

// Workflows on cluster nodes in one test process, each node with its own NATS connection and
// state directory, on a NATS server of the test's own. Liveness is shortened (the same rules).

const HOST = 'app:flows';

const APP = `
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: order
    kind: workflow.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(n)
        local charged = funcs.call("app:charge", n)
        local approval = process.listen("approve"):receive()
        local shipped = funcs.call("app:ship", n)
        return { n = n, charged = charged, approval = approval, shipped = shipped }
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

let server: NatsServerHandle;
const cleanups: (() => Promise<unknown>)[] = [];
/** Activity runs by workflow (both nodes count here: one "world" of side effects). */
let charges: Map<number, number>;
let shipments: Map<number, number>;

beforeEach(async () => {
  server = await startNatsServer();
  charges = new Map();
  shipments = new Map();
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await server?.stop();
}, 60_000);

async function clusterNode(name: string, url: string): Promise<Node> {
  const app = await writeApp({ 'app.yaml': APP });
  cleanups.push(app.remove);
  const cluster: ClusterSettings = { name, liveness: LIVENESS };
  const node = await Node.start({
    dir: app.dir,
    env: {},
    nats: { servers: url },
    cluster,
    print: () => {},
  });
  cleanups.push(() => node.stop());
  const count = (runs: Map<number, number>) => (_call: unknown, n: unknown) => {
    runs.set(Number(n), (runs.get(Number(n)) ?? 0) + 1);
    return Number(n) * 10;
  };
  node.registerFunction('app:charge', count(charges));
  node.registerFunction('app:ship', count(shipments));
  return node;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The partitions of the workflow host each node owns in its view. */
function owned(node: Node): number {
  const view = node.clusterView;
  return (view?.view.owners[HOST] ?? []).filter((owner) => owner.node === view?.identity.node)
    .length;
}

/** Two nodes, a and b (b through `bUrl`), with the host's 64 partitions split 32/32. */
async function twoNodes(bUrl = server.url): Promise<[Node, Node]> {
  const a = await clusterNode('a', server.url);
  const b = await clusterNode('b', bUrl);
  await until('a balanced view on both nodes', () => owned(a) === 32 && owned(b) === 32);
  return [a, b];
}

function drivers(nodes: readonly Node[], workflow: string): string[] {
  return nodes
    .filter((node) => node.workflows.host(HOST)?.drives(workflow))
    .map((node) => node.clusterView?.identity.node ?? '?');
}

/** Resolves with the workflow's decoded result, watched from `node`. */
function resultOf(node: Node, pid: string): Promise<unknown> {
  const entry = node.registry.snapshot.get('app:order');
  return new Promise((resolve, reject) => {
    node.workflows
      .hostFor(entry as never)
      .watch(pid as Pid, (outcome: ExitOutcome) =>
        outcome.ok ? resolve(decodeValue(outcome.value)) : reject(outcome.error),
      )
      .catch(reject);
  });
}

/** The workflow's journal, read from the node that drives it. */
async function historyOf(nodes: readonly Node[], workflow: string): Promise<{ t: string }[]> {
  const owner = nodes.find((node) => node.workflows.host(HOST)?.drives(workflow));
  if (!owner) return [];
  return (await owner.workflows.history(workflow)) as { t: string }[];
}

it('spreads 100 workflows started from either node over both; each finishes once, driven by one node', async () => {
  const [a, b] = await twoNodes();
  const ids = Array.from({ length: 100 }, (_, i) => i);
  const pids = await Promise.all(
    ids.map((i) => (i % 2 === 0 ? a : b).workflows.start('app:order', [i], { id: `w${i}` })),
  );
  expect(pids[7]).toBe(`{${HOST}|w7}`);
  await until('every charge', () => charges.size === 100);
  const results = ids.map((i) => resultOf(i % 3 === 0 ? b : a, pids[i] as string));
  // Messages from the node that did not start each workflow.
  await Promise.all(
    ids.map((i) => (i % 2 === 0 ? b : a).workflows.signal(`w${i}`, 'approve', [`ok${i}`])),
  );
  expect(await Promise.all(results)).toEqual(
    ids.map((n) => ({ n, charged: n * 10, approval: `ok${n}`, shipped: n * 10 })),
  );
  // Each workflow was driven by exactly one node: the owner of its partition in the view.
  const owners = a.clusterView?.view.owners[HOST] ?? [];
  const byNode = { a: 0, b: 0 } as Record<string, number>;
  for (const i of ids) {
    const driven = drivers([a, b], `w${i}`);
    expect(driven).toEqual([owners[partitionOf(`w${i}`, 64)]?.node]);
    byNode[driven[0] as string] = (byNode[driven[0] as string] ?? 0) + 1;
  }
  expect(byNode.a).toBeGreaterThan(20);
  expect(byNode.b).toBeGreaterThan(20);
  expect([...charges.values()].every((n) => n === 1)).toBe(true);
  expect([...shipments.values()].every((n) => n === 1)).toBe(true);
}, 120_000);

for (const failure of ['leaves', 'is cut off and declared down'] as const) {
  it(`resumes the workflows of a node that ${failure} on the survivor: no completed activity again, no accepted signal lost`, async () => {
    const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: server.port });
    cleanups.push(() => proxy.close());
    const [a, b] = await twoNodes(proxy.url);
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const pids = await Promise.all(
      ids.map((i) => a.workflows.start('app:order', [i], { id: `f${i}` })),
    );
    const onB = ids.filter((i) => drivers([a, b], `f${i}`).includes('b'));
    expect(onB.length).toBeGreaterThan(5);
    // Every charge is done and journaled before the failure.
    await until('every charge journaled', async () => {
      for (const i of ids) {
        const history = await historyOf([a, b], `f${i}`);
        if (!history.some((record) => record.t === 'activity')) return false;
      }
      return true;
    });
    // Signals accepted (journaled by b) for half of b's workflows, sent from a.
    const early = onB.slice(0, Math.floor(onB.length / 2));
    await Promise.all(early.map((i) => a.workflows.signal(`f${i}`, 'approve', ['early'])));

    if (failure === 'leaves') await b.stop();
    else proxy.pause();
    await until('a owns every partition', () => owned(a) === 64);
    const results = ids.map((i) => resultOf(a, pids[i] as string));
    await until('a drives every workflow', () =>
      ids.every((i) => drivers([a], `f${i}`).length === 1),
    );
    const late = ids.filter((i) => !early.includes(i));
    await Promise.all(late.map((i) => a.workflows.signal(`f${i}`, 'approve', ['late'])));
    expect(await Promise.all(results)).toEqual(
      ids.map((n) => ({
        n,
        charged: n * 10,
        approval: early.includes(n) ? 'early' : 'late',
        shipped: n * 10,
      })),
    );
    expect(ids.map((i) => charges.get(i))).toEqual(ids.map(() => 1));
    if (failure !== 'leaves') {
      let halted = false;
      void b.halted.then(() => {
        halted = true;
      });
      proxy.resume();
      await until('b to learn it was expelled', () => halted);
    }
  }, 180_000);
}

it('a zombie old owner appending after the new owner fenced never wins', async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: server.port });
  cleanups.push(() => proxy.close());
  const [a, b] = await twoNodes(proxy.url);
  const ids = Array.from({ length: 20 }, (_, i) => i);
  await Promise.all(ids.map((i) => b.workflows.start('app:order', [i], { id: `z${i}` })));
  await until('every charge', () => charges.size === 20);
  const victim = `z${ids.find((i) => drivers([a, b], `z${i}`).includes('b'))}`;
  const p = partitionOf(victim, 64);
  const oldEpoch = b.clusterView?.view.owners[HOST]?.[p]?.epoch as number;
  await until('its charge journaled', async () =>
    (await historyOf([a, b], victim)).some((record) => record.t === 'activity'),
  );
  proxy.pause();
  await until('a drives it', () => drivers([a], victim).length === 1);

  // The old owner's writer, still at its epoch, appends after the new owner's fence.
  const nc: NatsConnection = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  const zombie = await JetStreamJournal.open({
    connection: nc,
    stream: 'LUACT_JOURNAL_APP_FLOWS',
    subjectPrefix: 'luact.journal.app_flows',
    partitionKey: (id) => id.slice(0, id.lastIndexOf('~')),
    epochOf: () => oldEpoch,
  });
  cleanups.push(() => zombie.shutdown());
  const stream = `${victim}~1`;
  const length = (await zombie.read(stream)).length;
  const refused = await zombie
    .append(stream, length, [
      { t: 'signal', at: 0, topic: 'approve', payload: new Uint8Array([0xa1, 0x7a]) },
    ])
    .catch((error: unknown) => error);
  expect(refused).toMatchObject({ kind: 'CONFLICT' });
  await a.workflows.signal(victim, 'approve', ['from a']);
  const result = await resultOf(a, `{${HOST}|${victim}}`);
  expect(result).toMatchObject({ approval: 'from a' });
  // Every reader reads the new owner's chain: no record of the zombie's.
  const readers = await Promise.all([zombie.read(stream), a.workflows.history(victim)]);
  for (const records of readers) {
    const signals = records.filter((record) => (record as { t: string }).t === 'signal');
    expect(signals).toHaveLength(1);
  }
}, 180_000);

it('a signal, a cancel and a start repeated after a lost answer are each taken once', async () => {
  const [a, b] = await twoNodes();
  const id = Array.from({ length: 64 }, (_, i) => `r${i}`).find(
    (w) => b.clusterView?.view.owners[HOST]?.[partitionOf(w, 64)]?.node === 'b',
  ) as string;
  const pid = `{${HOST}|${id}}`;
  const nc: NatsConnection = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  const channel = new WorkflowChannel(nc, 'luact.wf');
  const request = {
    workflow: id,
    entry: 'app:order',
    args: new Uint8Array([0x91, 0x07]),
    context: {},
    messages: [],
    conflict: 'fail',
    key: 'client-1',
  };
  const twice = async (body: Record<string, unknown>) => [
    await channel.request('b', { host: HOST, workflow: id, attempt: 1, ...body }),
    await channel.request('b', { host: HOST, workflow: id, attempt: 2, ...body }),
  ];
  expect(await twice({ op: 'start', request })).toEqual([pid, pid]);
  const message = { to: pid, topic: 'note', payload: new Uint8Array([0xa1, 0x78]), origin: 'k-7' };
  await twice({ op: 'send', envelope: message });
  await twice({ op: 'cancel', pid, reason: 'enough', origin: 'k-8' });
  // From node a, which does not own it: through the router, once.
  await a.workflows.signal(id, 'approve', ['yes']);
  const result = await resultOf(a, pid);
  expect(result).toMatchObject({ approval: 'yes' });
  const history = (await b.workflows.history(id)) as { t: string; topic?: string }[];
  expect(history.filter((r) => r.t === 'signal').map((r) => r.topic)).toEqual(['note', 'approve']);
  expect(history.filter((r) => r.t === 'cancel')).toHaveLength(1);
  expect(history.filter((r) => r.t === 'started')).toHaveLength(1);
}, 120_000);
