import { decodeValue, encodeValues } from '@luact/lua';
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
  - name: starter
    kind: process.lua
    source: |
      return { main = function(count)
        local started, ns, pids = {}, {}, {}
        for i = 1, count do
          local pid = assert(process.spawn_monitored("app:order", "app:flows", 1000 + i))
          assert(process.send(pid, "approve", "lua"))
          started[pid] = true
          table.insert(pids, pid)
        end
        for _ = 1, count do
          local event = process.events():receive()
          assert(event.kind == "EXIT" and started[event.from], tostring(event.from))
          table.insert(ns, event.result.value.n)
        end
        table.sort(ns)
        return { ns = ns, pids = pids }
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

let server: NatsServerHandle;
const cleanups: (() => Promise<unknown>)[] = [];
/** Activity runs by workflow (both nodes count here: one "world" of side effects). */
let charges: Map<number, number>;
/** What the nodes logged. */
let logs: { node: string; message: string; fields?: Record<string, unknown> }[];
let shipments: Map<number, number>;

beforeEach(async () => {
  server = await startNatsServer();
  charges = new Map();
  logs = [];
  shipments = new Map();
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await server?.stop();
}, 60_000);

async function clusterNode(
  name: string,
  url: string,
  /** Before `app:ship` returns on this node (a gate for a test). */
  beforeShip: (n: number) => Promise<void> | undefined = () => undefined,
  liveness = LIVENESS,
): Promise<Node> {
  const app = await writeApp({ 'app.yaml': APP });
  cleanups.push(app.remove);
  const cluster: ClusterSettings = { name, liveness };
  const node = await Node.start({
    dir: app.dir,
    env: {},
    nats: { servers: url },
    cluster,
    print: () => {},
    log: (record) => logs.push({ node: name, ...record }),
  });
  cleanups.push(() => node.stop());
  const count = (runs: Map<number, number>) => (_call: unknown, n: unknown) => {
    runs.set(Number(n), (runs.get(Number(n)) ?? 0) + 1);
    return Number(n) * 10;
  };
  node.registerFunction('app:charge', count(charges));
  node.registerFunction('app:ship', async (call, n) => {
    const value = count(shipments)(call, n);
    await beforeShip(Number(n));
    return value;
  });
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
async function twoNodes(
  bUrl = server.url,
  bBeforeShip?: (n: number) => Promise<void> | undefined,
  liveness = LIVENESS,
): Promise<[Node, Node]> {
  const a = await clusterNode('a', server.url, undefined, liveness);
  const b = await clusterNode('b', bUrl, bBeforeShip, liveness);
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
  return registeredWatch(node, pid).then((watch) => watch.result);
}

/** Resolves once the watch is registered (with the workflow's owner), with its result. */
async function registeredWatch(node: Node, pid: string): Promise<{ result: Promise<unknown> }> {
  const entry = node.registry.snapshot.get('app:order');
  let settle: { resolve(value: unknown): void; reject(error: unknown): void } | undefined;
  const result = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  await node.workflows
    .hostFor(entry as never)
    .watch(pid as Pid, (outcome: ExitOutcome) =>
      outcome.ok ? settle?.resolve(decodeValue(outcome.value)) : settle?.reject(outcome.error),
    );
  return { result };
}

/** Lets a node that was cut off reach NATS again, and waits until it knows it was expelled. */
async function expelled(node: Node, proxy: TcpProxyHandle): Promise<void> {
  let halted = false;
  void node.halted.then(() => {
    halted = true;
  });
  proxy.resume();
  await until('the cut-off node to learn it was expelled', () => halted);
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

it('starts workflows from Lua and Node.spawn on a node that may not own them; EXIT reaches the Lua watcher', async () => {
  const [a, b] = await twoNodes();
  // Generated IDs: their partitions, so their owners, are a matter of chance.
  const outcome = await b.run('app:starter', [12]);
  if (!outcome.ok) throw outcome.error;
  const { ns, pids } = outcome.value as { ns: number[]; pids: string[] };
  expect(ns).toEqual(Array.from({ length: 12 }, (_, i) => 1001 + i));
  const owners = pids.map((pid) => drivers([a, b], pid.slice(pid.indexOf('|') + 1, -1)));
  expect(owners.every((owner) => owner.length === 1)).toBe(true);
  expect(owners.flat()).toContain('a');
  for (let n = 1001; n <= 1012; n++) expect([charges.get(n), shipments.get(n)]).toEqual([1, 1]);

  const spawned = await b.spawn('app:order', [7], { host: HOST, name: 'named-7' });
  expect(spawned).toBe(`{${HOST}|named-7}`);
  await b.send(spawned, 'approve', 'by pid');
  expect(await resultOf(a, spawned)).toMatchObject({ n: 7, approval: 'by pid' });
}, 120_000);

for (const failure of ['leaves', 'is cut off and declared down'] as const) {
  it(`resumes the workflows of a node that ${failure} on the survivor: no completed activity again, no accepted signal lost`, async () => {
    const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: server.port });
    cleanups.push(() => proxy.close());
    // b's shipments never end: a workflow signaled before the failure is still unfinished then.
    const [a, b] = await twoNodes(proxy.url, () => new Promise(() => {}));
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

    // Watched from a before the failure: those of b's workflows are registered with b, then
    // again with a when it takes them over.
    const results = await Promise.all(ids.map((i) => registeredWatch(a, pids[i] as string)));
    if (failure === 'leaves') await b.stop();
    else proxy.pause();
    await until('a owns every partition', () => owned(a) === 64);
    // Sent from a, which owns them now or soon (a send waits for the owner to be ready).
    const late = ids.filter((i) => !early.includes(i));
    await Promise.all(late.map((i) => a.workflows.signal(`f${i}`, 'approve', ['late'])));
    expect(await Promise.all(results.map((watch) => watch.result))).toEqual(
      ids.map((n) => ({
        n,
        charged: n * 10,
        approval: early.includes(n) ? 'early' : 'late',
        shipped: n * 10,
      })),
    );
    expect(ids.map((i) => charges.get(i))).toEqual(ids.map(() => 1));
    if (failure !== 'leaves') await expelled(b, proxy);
  }, 180_000);
}

it('the old owner, cut off with an append in flight, never wins over the new owner', async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: server.port });
  cleanups.push(() => proxy.close());
  // b's shipment of the victim is held until b is cut off: its result is then journaled by a
  // zombie, after (or racing) the new owner's fence.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let victim = -1;
  const [a, b] = await twoNodes(proxy.url, (n) => (n === victim ? held : undefined));
  victim = Array.from({ length: 64 }, (_, i) => i).find(
    (i) => b.clusterView?.view.owners[HOST]?.[partitionOf(`z${i}`, 64)]?.node === 'b',
  ) as number;
  const id = `z${victim}`;
  const pid = await a.workflows.start('app:order', [victim], { id });
  await until('its charge journaled', async () =>
    (await historyOf([a, b], id)).some((record) => record.t === 'activity'),
  );
  await a.workflows.signal(id, 'approve', ['yes']);
  await until('b shipping it', () => shipments.get(victim) === 1);
  const epochOfB = b.clusterView?.view.owners[HOST]?.[partitionOf(id, 64)]?.epoch as number;

  proxy.pause();
  release(); // b appends the result: its publish waits for NATS, retried with its message ID
  await until('a drives it', () => drivers([a], id).length === 1);
  const result = await resultOf(a, pid);
  await expelled(b, proxy); // b's held publish reaches NATS now, after a's fence
  expect(result).toMatchObject({ n: victim, approval: 'yes' });
  expect(shipments.get(victim)).toBe(2); // b's run of it was lost, so a ran it again
  // b let the run go (its partition moved, or the journal refused it): it failed nothing.
  expect(logs.filter((r) => r.message === 'workflow journal append failed')).toEqual([]);

  // Every reader reads a's chain: one result per activity, a's.
  const nc: NatsConnection = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  const reader = await JetStreamJournal.open({
    connection: nc,
    stream: 'LUACT_JOURNAL_APP_FLOWS',
    subjectPrefix: 'luact.journal.app_flows',
    partitionKey: (stream) => stream.slice(0, stream.lastIndexOf('~')),
    epochOf: () => epochOfB,
  });
  cleanups.push(() => reader.shutdown());
  const stream = `${id}~1`;
  const records = (await reader.read(stream)) as { t: string; seq?: number }[];
  expect(records).toEqual(await a.workflows.host(HOST)?.history(id));
  const results = records.filter((record) => record.t === 'activity');
  expect(results.map((record) => record.seq)).toEqual([...new Set(results.map((r) => r.seq))]);
  expect(records.at(-1)?.t).toBe('completed');
  // A writer at b's epoch is refused.
  const refused = await reader
    .append(stream, records.length, [{ t: 'timer', at: 0, seq: 99 }])
    .catch((error: unknown) => error);
  expect(refused).toMatchObject({ kind: 'CONFLICT' });
}, 180_000);

it('a journal the previous owner of a partition wrote after the new owner read it is fenced and adopted, at once when asked for', async () => {
  const [a, b] = await twoNodes();
  const onB = Array.from({ length: 400 }, (_, i) => `late${i}`).filter(
    (id) => b.clusterView?.view.owners[HOST]?.[partitionOf(id, 64)]?.node === 'b',
  );
  const [asked, unasked, signalled] = onB as [string, string, string];
  // The previous owner (a, at the epoch before b's): its writes were in flight during the move.
  const epochOfB = b.clusterView?.view.owners[HOST]?.[partitionOf(asked, 64)]?.epoch as number;
  const nc: NatsConnection = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  const stale = await JetStreamJournal.open({
    connection: nc,
    stream: 'LUACT_JOURNAL_APP_FLOWS',
    subjectPrefix: 'luact.journal.app_flows',
    partitionKey: (stream) => stream.slice(0, stream.lastIndexOf('~')),
    epochOf: () => epochOfB - 1,
  });
  cleanups.push(() => stale.shutdown());
  for (const [id, n] of [
    [asked, 7],
    [unasked, 8],
    [signalled, 9],
  ] as const)
    await stale.append(`${id}~1`, 0, [
      {
        t: 'started',
        at: Date.now(),
        workflow: id,
        run: 1,
        entry: 'app:order',
        host: HOST,
        args: encodeValues([n]),
        code: 'stale',
        context: {},
        seed: 1,
        messages: [],
      },
    ]);

  // Signalled first, b reads the partition again and adopts the run, instead of NOT_FOUND.
  await a.workflows.signal(signalled, 'approve', ['first']);
  // Asked for it, b reads the partition again and adopts the run, instead of refusing.
  const pid = await a.workflows.start('app:order', [7], { id: asked });
  expect(drivers([a, b], asked)).toEqual(['b']);
  // Not asked for, it is found by the second read that follows every takeover.
  await until('b drives the other', () => drivers([a, b], unasked).length === 1, 90_000);
  expect(drivers([a, b], unasked)).toEqual(['b']);
  await a.workflows.signal(asked, 'approve', ['yes']);
  await a.workflows.signal(unasked, 'approve', ['yes']);
  expect(await resultOf(a, pid)).toMatchObject({ n: 7, approval: 'yes' });
  expect(await resultOf(a, pid.replace(asked, unasked))).toMatchObject({ n: 8, approval: 'yes' });
  expect(await resultOf(a, pid.replace(asked, signalled))).toMatchObject({
    n: 9,
    approval: 'first',
  });
}, 180_000);

it('a node fenced for a moment stops writing, lets its runs go, and resumes them from the journal once back', async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: server.port });
  cleanups.push(() => proxy.close());
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let victim = -1;
  // Nobody is declared down for 20 s: the cut is a fence, not a failover.
  const patient = { heartbeatMs: 250, downAfterMs: 20_000, fenceAfterMs: 1_200 };
  const [a, b] = await twoNodes(proxy.url, (n) => (n === victim ? held : undefined), patient);
  victim = Array.from({ length: 64 }, (_, i) => i).find(
    (i) => b.clusterView?.view.owners[HOST]?.[partitionOf(`s${i}`, 64)]?.node === 'b',
  ) as number;
  const id = `s${victim}`;
  const pid = await a.workflows.start('app:order', [victim], { id });
  const result = resultOf(a, pid);
  await a.workflows.signal(id, 'approve', ['fenced']);
  await until('b shipping it', () => shipments.get(victim) === 1);

  proxy.pause();
  await until('b fenced', () =>
    logs.some((r) => r.node === 'b' && r.message.startsWith('fenced: no beat acknowledged')),
  );
  release(); // its result cannot be journaled now: b lets the run go
  await until('b to let the run go', () =>
    logs.some((r) => r.node === 'b' && r.message.startsWith('workflow run let go')),
  );
  expect(drivers([a, b], id)).toEqual([]);
  proxy.resume();
  // Back, still the owner: b takes the partition up again and resumes the run.
  expect(await result).toMatchObject({ n: victim, approval: 'fenced', shipped: victim * 10 });
  expect(drivers([a, b], id)).toEqual(['b']);
  expect(shipments.get(victim)).toBe(2);
  expect(b.clusterView?.view.owners[HOST]?.[partitionOf(id, 64)]?.node).toBe('b');
  expect(logs.filter((r) => r.message === 'workflow journal append failed')).toEqual([]);
}, 120_000);

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
  // Read on a, which does not own it: the owner answers.
  const history = (await a.workflows.history(id)) as { t: string; topic?: string }[];
  expect(await a.workflows.show(id)).toMatchObject({ workflow: id, status: 'completed' });
  expect(history.filter((r) => r.t === 'signal').map((r) => r.topic)).toEqual(['note', 'approve']);
  expect(history.filter((r) => r.t === 'cancel')).toHaveLength(1);
  expect(history.filter((r) => r.t === 'started')).toHaveLength(1);
}, 120_000);
