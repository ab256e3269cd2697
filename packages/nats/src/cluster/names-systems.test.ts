import { decodeValue, decodeValues, encodeValues, loadLuaApi } from '@luact/lua';
import { type Pid, ProcessSystem, processModules } from '@luact/process';
import {
  DEFAULT_HOST_LIMITS,
  type EntryDefinition,
  planChanges,
  RegistrySnapshot,
} from '@luact/registry';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstream } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterNode } from './cluster-node.js';
import { TEST_TIMINGS, testConnection } from './membership-testing.js';
import { nameBucket } from './names-stream.js';

// Cluster names end to end: process systems of nodes joined by ClusterNode over a real NATS
// server, Lua registering, looking up and sending by name.

let server: NatsServerHandle;
const nodes: { cluster: ClusterNode; system: ProcessSystem; connection: NatsConnection }[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  for (const { system } of nodes) system.close();
  await Promise.all(nodes.map(({ cluster }) => cluster.leave().catch(() => {})));
  await Promise.all(nodes.map(({ connection }) => connection.close().catch(() => {})));
  await server?.stop();
});

const HOST = 'app:processes';

const lua = (name: string, source: string): EntryDefinition => ({
  namespace: 'app',
  name,
  kind: 'process.lua',
  fields: { modules: [], source },
});

const ENTRIES: EntryDefinition[] = [
  { namespace: 'app', name: 'processes', kind: 'process.host', fields: {} },
  // Registers `name` in the cluster, tells `parent` how that went, then answers every message
  // until "stop".
  lua(
    'holder',
    `return { main = function(name, parent)
      local ok, err = process.registry.register(name, nil, process.registry.CLUSTER)
      process.send(parent, "registered", ok and "ok" or (err:kind() .. ": " .. err:message()))
      if not ok then return "refused" end
      local inbox = process.inbox()
      while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then return "stopped" end
        process.send(msg:from(), "answer", { by = process.pid(), data = msg:payload():data() })
      end
    end }`,
  ),
  // Registers `name` in the cluster and returns the reason of the first CANCEL it gets.
  lua(
    'revocable',
    `return { main = function(name)
      assert(process.registry.register(name, nil, process.registry.CLUSTER))
      return process.events():receive().reason
    end }`,
  ),
  lua(
    'asker',
    `return { main = function(name)
      local pid, err = process.registry.lookup(name)
      if pid == nil then return { err = err:kind() } end
      assert(process.send(name, "ask", 42))
      local answer = process.inbox():receive():payload():data()
      return { pid = pid, by = answer.by, data = answer.data }
    end }`,
  ),
];

async function node(name: string): Promise<{ cluster: ClusterNode; system: ProcessSystem }> {
  const planned = planChanges(
    RegistrySnapshot.empty(),
    ENTRIES.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => d.message).join('\n'));
  const snapshot = planned.value.snapshot;
  const connection = await testConnection(server.url);
  const cluster = await ClusterNode.join({ connection, node: name, liveness: TEST_TIMINGS });
  const system = new ProcessSystem({
    api: await loadLuaApi(),
    snapshot: () => snapshot,
    env: {},
    transport: cluster.transport,
    names: cluster.names,
    modules: (s) => processModules(s, {}),
    functionLimits: DEFAULT_HOST_LIMITS,
  });
  cluster.attach({ nodeDown: (down) => system.nodeDown(down), expelled: () => {} });
  system.addHost(HOST, DEFAULT_HOST_LIMITS);
  nodes.push({ cluster, system, connection });
  return { cluster, system };
}

/** Spawns a holder of `name` on `system`; resolves with its PID and what registering answered. */
async function hold(system: ProcessSystem, name: string): Promise<{ pid: Pid; answer: string }> {
  const answers: string[] = [];
  const inbox = system.openInbox((envelope) =>
    answers.push(String(decodeValues(envelope.payload)[0])),
  );
  const pid = system.spawn({
    entry: 'app:holder',
    host: HOST,
    args: encodeValues([name, inbox.pid]),
  });
  await expect.poll(() => answers.length, { timeout: 30_000 }).toBe(1);
  inbox.close();
  return { pid, answer: answers[0] as string };
}

async function ask(system: ProcessSystem, name: string): Promise<unknown> {
  const exit = await system.waitForExit(
    system.spawn({ entry: 'app:asker', host: HOST, args: encodeValues([name]) }),
  );
  if (!exit.ok) throw exit.error;
  return decodeValue(exit.value);
}

it('finds a cluster name registered on another node and sends to it by name; the name goes when its holder ends', async () => {
  const a = await node('a');
  const b = await node('b');
  const { pid, answer } = await hold(b.system, 'desk');
  expect(answer).toBe('ok');
  expect(pid).toMatch(/^\{b~\d+@app:processes\|\d+\}$/);
  await expect.poll(() => a.system.lookupName('desk'), { timeout: 30_000 }).toBe(pid);
  expect(await ask(a.system, 'desk')).toEqual({ pid, by: pid, data: 42 });
  b.system.send({ to: pid, from: undefined, topic: 'stop', payload: encodeValues([]) });
  await b.system.waitForExit(pid);
  await expect
    .poll(() => a.system.lookupName('desk'), { timeout: 30_000 })
    .toMatchObject({ kind: 'NOT_FOUND' });
  expect(await ask(a.system, 'desk')).toEqual({ err: 'NotFound' });
}, 120_000);

it('gives a name two nodes race for to one of them; the other is told who holds it', async () => {
  const a = await node('c');
  const b = await node('d');
  for (let round = 1; round <= 20; round++) {
    const name = `race-${round}`;
    const [x, y] = await Promise.all([hold(a.system, name), hold(b.system, name)]);
    const winner = x.answer === 'ok' ? x : y;
    const loser = x.answer === 'ok' ? y : x;
    expect(
      [x.answer, y.answer].filter((answer) => answer === 'ok'),
      name,
    ).toHaveLength(1);
    expect(loser.answer).toBe(
      `AlreadyExists: cluster name "${name}" is already registered by ${winner.pid}`,
    );
    await expect.poll(() => a.system.lookupName(name), { timeout: 30_000 }).toBe(winner.pid);
    await expect.poll(() => b.system.lookupName(name), { timeout: 30_000 }).toBe(winner.pid);
  }
}, 120_000);

it('releases the names of a node declared down', async () => {
  const a = await node('e');
  const b = await node('f');
  const { pid } = await hold(b.system, 'f-service');
  await expect.poll(() => a.system.lookupName('f-service'), { timeout: 30_000 }).toBe(pid);
  // f drops off NATS without leaving: the others declare it down after its beats stop.
  const f = nodes.find((n) => n.cluster === b.cluster);
  await f?.connection.close();
  await expect
    .poll(() => a.system.lookupName('f-service'), { timeout: 60_000 })
    .toMatchObject({ kind: 'NOT_FOUND' });
  // The name is free for anyone again.
  expect((await hold(a.system, 'f-service')).answer).toBe('ok');
}, 120_000);

it('sends CANCEL "name revoked: NAME" to a holder whose registration a late release ended', async () => {
  const { system } = await node('g');
  const pid = system.spawn({ entry: 'app:revocable', host: HOST, args: encodeValues(['late']) });
  await expect.poll(() => system.lookupName('late'), { timeout: 30_000 }).toBe(pid);
  // A release of an earlier registration of the name, stored after this one: forged here.
  const marker = headers();
  marker.set('KV-Operation', 'DEL');
  marker.set('Luact-Era', '1');
  const connection = nodes.find((n) => n.system === system)?.connection as NatsConnection;
  await jetstream(connection).publish(nameBucket('luact').subject('late'), undefined, {
    headers: marker,
  });
  const exit = await system.waitForExit(pid);
  if (!exit.ok) throw exit.error;
  expect(decodeValue(exit.value)).toBe('name revoked: late');
  expect(system.lookupName('late')).toMatchObject({ kind: 'NOT_FOUND' });
}, 60_000);
