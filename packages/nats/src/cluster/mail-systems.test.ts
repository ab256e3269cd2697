import { LuactError } from '@luact/core';
import { decodeValue, encodeValues, loadLuaApi } from '@luact/lua';
import { type Pid, ProcessSystem, processModules } from '@luact/process';
import {
  DEFAULT_HOST_LIMITS,
  type EntryDefinition,
  planChanges,
  RegistrySnapshot,
} from '@luact/registry';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterTransport } from './cluster-transport.js';
import { ControlChannel } from './control.js';
import type { MailLog, MailLogRecord } from './mail-log.js';
import { MailTransport } from './mail-transport.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];
const systems: ProcessSystem[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);

afterAll(async () => {
  for (const system of systems) system.close();
  await Promise.all(systems.map((system) => system.transport.close()));
  await Promise.all(connections.map((connection) => connection.close()));
  await server?.stop();
});

const HOST = 'app:processes';
/** A host whose mailboxes hold one message: the second is refused. */
const SMALL_HOST = 'app:small';

const ENTRIES: EntryDefinition[] = [
  { namespace: 'app', name: 'processes', kind: 'process.host', fields: {} },
  { namespace: 'app', name: 'small', kind: 'process.host', fields: {} },
  {
    namespace: 'app',
    name: 'deaf',
    kind: 'process.lua',
    fields: {
      modules: [],
      source: 'return { main = function() process.listen("never"):receive() end }',
    },
  },
  {
    namespace: 'app',
    name: 'pong',
    kind: 'process.lua',
    fields: {
      modules: [],
      source: `return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }`,
    },
  },
  {
    namespace: 'app',
    name: 'ping',
    kind: 'process.lua',
    fields: {
      modules: [],
      source: `return { main = function(ponger, rounds)
        local pongs = process.listen("pong")
        for i = 1, rounds do
          process.send(ponger, "ping", i)
          local n = pongs:receive()
          if n ~= i then error("pong " .. tostring(n) .. " after ping " .. i) end
        end
        -- A burst: every ping leaves before any pong is read, and they come back in order.
        for i = 1, rounds do process.send(ponger, "ping", -i) end
        for i = 1, rounds do
          local n = pongs:receive()
          if n ~= -i then error("burst pong " .. tostring(n) .. " in place of " .. -i) end
        end
        process.send(ponger, "stop", true)
        return rounds
      end }`,
    },
  },
  {
    namespace: 'app',
    name: 'keeper',
    kind: 'process.lua',
    fields: {
      modules: [],
      // Takes the name "keeper" only after its first message, then takes two more.
      source: `return { main = function()
        local inbox = process.inbox()
        local got = { inbox:receive():payload():data() }
        assert(process.registry.register("keeper"))
        for i = 2, 3 do got[i] = inbox:receive():payload():data() end
        return got
      end }`,
    },
  },
  {
    namespace: 'app',
    name: 'double',
    kind: 'process.lua',
    fields: {
      modules: [],
      source: 'return { main = function(n) return { n * 2, process.pid() } end }',
    },
  },
  {
    namespace: 'app',
    name: 'remote',
    kind: 'process.lua',
    fields: {
      modules: [],
      source: `return { main = function(node)
        local on_node = process.with_options({ node = node })
        -- exec: the child runs there, its value comes back here.
        local value, err = on_node:exec("app:double", "app:processes", 21)
        assert(err == nil, tostring(err))
        -- spawn_monitored: its EXIT comes back here.
        local child = assert(on_node:spawn_monitored("app:double", "app:processes", 1))
        local event = process.events():receive()
        assert(event.kind == "EXIT" and event.from == child, "EXIT from " .. tostring(event.from))
        -- a node nobody runs: UNAVAILABLE, at once.
        local none, refused = process.with_options({ node = "nobody" }):spawn("app:double", "app:processes", 1)
        assert(none == nil and refused:kind() == errors.UNAVAILABLE, tostring(refused))
        return { doubled = value[1], ran_on = value[2], child = child, exit_value = event.result.value[1] }
      end }`,
    },
  },
];

async function node(name: string, log: MailLog = () => {}): Promise<ProcessSystem> {
  const planned = planChanges(
    RegistrySnapshot.empty(),
    ENTRIES.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => d.message).join('\n'));
  const snapshot = planned.value.snapshot;
  const connection = await connect({ servers: server.url });
  connections.push(connection);
  const mail = await MailTransport.open({
    connection,
    node: name,
    incarnation: 1,
    gapHoldMs: 600_000,
    log,
  });
  // Both nodes count as members: a spawn waits for the other to serve, as in a cluster.
  const transport = new ClusterTransport(
    mail,
    new ControlChannel(connection, 'luact.ctl'),
    (other) => ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].includes(other),
  );
  const system = new ProcessSystem({
    api: await loadLuaApi(),
    snapshot: () => snapshot,
    env: {},
    transport,
    modules: (s) => processModules(s, {}),
    functionLimits: DEFAULT_HOST_LIMITS,
  });
  system.addHost(HOST, DEFAULT_HOST_LIMITS);
  system.addHost(SMALL_HOST, { ...DEFAULT_HOST_LIMITS, max_mailbox: 1 });
  systems.push(system);
  return system;
}

it('runs a Lua ping-pong of 1,000 rounds and a 1,000-message burst between processes of two nodes, in order', async () => {
  const a = await node('a');
  const b = await node('b');
  const ponger: Pid = b.spawn({ entry: 'app:pong', host: HOST, args: encodeValues([]) });
  expect(ponger).toMatch(/^\{b(~1)?@/);
  const pinger = a.spawn({ entry: 'app:ping', host: HOST, args: encodeValues([ponger, 1_000]) });
  const [pinged, ponged] = await Promise.all([a.waitForExit(pinger), b.waitForExit(ponger)]);
  if (!pinged.ok) throw pinged.error;
  expect(decodeValue(pinged.value)).toBe(1_000);
  expect(ponged.ok && decodeValue(ponged.value)).toBe('stopped');
}, 180_000);

it('spawns on another node: exec brings the value back, a monitored child its EXIT', async () => {
  const c = await node('c');
  await node('d');
  const pid = c.spawn({ entry: 'app:remote', host: HOST, args: encodeValues(['d']) });
  const exit = await c.waitForExit(pid);
  if (!exit.ok) throw exit.error;
  const result = decodeValue(exit.value) as Record<string, unknown>;
  expect(result.doubled).toBe(42);
  expect(result.ran_on).toMatch(/^\{d~1@app:processes\|\d+\}$/);
  expect(result.child).toMatch(/^\{d~1@app:processes\|\d+\}$/);
  expect(result.exit_value).toBe(2);
}, 120_000);

it('tells the sender’s node what the receiving node refused: a full mailbox, a process that ended', async () => {
  const logs = { e: [] as MailLogRecord[], f: [] as MailLogRecord[] };
  const e = await node('e', (record) => logs.e.push(record));
  const f = await node('f', (record) => logs.f.push(record));
  const sender = e.spawn({ entry: 'app:deaf', host: HOST, args: encodeValues([]) });
  const mail = (to: Pid, n: number) => ({
    to,
    from: sender,
    topic: 'n',
    payload: encodeValues([n]),
  });

  // The mailbox holds one: the second message is acknowledged by JetStream, then refused there.
  const deaf = f.spawn({ entry: 'app:deaf', host: SMALL_HOST, args: encodeValues([]) });
  await e.send(mail(deaf, 1));
  await e.send(mail(deaf, 2));
  const refusal = { sender, receiver: deaf, topic: 'n', kind: 'RATE_LIMITED' };
  const warned = (records: MailLogRecord[]) =>
    records.some(
      (record) =>
        record.level === 'warn' && expect.objectContaining(refusal).asymmetricMatch(record.fields),
    );
  await until(() => warned(logs.f) && warned(logs.e));
  expect(e.send(mail(deaf, 3))).toBeInstanceOf(Promise); // a full mailbox is not an end

  // A process that ended there without this node hearing of it: NOT_FOUND here once refused.
  const quick = f.spawn({ entry: 'app:double', host: HOST, args: encodeValues([1]) });
  await f.waitForExit(quick);
  await e.send(mail(quick, 1));
  await until(() => {
    const sent = e.send(mail(quick, 2));
    return sent instanceof LuactError && sent.kind === 'NOT_FOUND';
  });
}, 120_000);

it('holds only its sender’s later mail behind a message waiting for a name of a starting node', async () => {
  const g = await node('g');
  const h = await node('h');
  const i = await node('i');
  const keeper = g.spawn({ entry: 'app:keeper', host: HOST, args: encodeValues([]) });
  const mail = (from: Pid, to: Pid, text: string) => ({
    to,
    from,
    topic: 't',
    payload: encodeValues([text]),
  });
  // Node g is starting (its services have not all started), so mail to {g@|keeper} waits for
  // the name. The keeper takes the name only after a message from another sender: i's mail
  // must get past h's waiting record, and h's next message must stay behind it.
  const fromH = h.spawn({ entry: 'app:deaf', host: HOST, args: encodeValues([]) });
  const fromI = i.spawn({ entry: 'app:deaf', host: HOST, args: encodeValues([]) });
  await h.send(mail(fromH, h.resolveDestination('{g@|keeper}'), 'held for the name'));
  await h.send(mail(fromH, keeper, 'after it, from h'));
  await i.send(mail(fromI, keeper, 'from i'));
  const exit = await g.waitForExit(keeper);
  if (!exit.ok) throw exit.error;
  expect(decodeValue(exit.value)).toEqual(['from i', 'held for the name', 'after it, from h']);
}, 60_000);

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the condition did not come true within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
