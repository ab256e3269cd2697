import { decodeValue, encodeValues } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPid, nodeOf, type Pid, parsePid } from './pid.js';
import type { Process } from './process.js';
import { InProcessNetwork } from './testing/in-process-network.js';
import { type Harness, harness, lua } from './testing/system-harness.js';

// What crosses nodes, as the process system does it whatever carries the mail: PIDs name the
// node and its incarnation, monitors and links work across nodes, a lost node reads as
// "node down". The network here is in-process; the NATS transport has its own tests.

const ENTRIES = {
  'app:processes': { kind: 'process.host' },
  // Waits for "stop", then ends as told: a value, or an error.
  'app:target': lua(`return { main = function()
    local how = process.listen("stop"):receive()
    if how == "fail" then error("broken belt", 0) end
    return how
  end }`),
  // Watches `pid` (monitor or link) and returns the first event it gets.
  'app:watcher': lua(`return { main = function(pid, how)
    if how == "link" then
      process.set_options({ trap_links = true })
      assert(process.link(pid))
    else
      assert(process.monitor(pid))
    end
    process.send(pid, "watching", process.pid())
    local event = process.events():receive()
    return { kind = event.kind, from = event.from,
      error = event.result.error and tostring(event.result.error:message()),
      value = event.result.value }
  end }`),
  // Collects `n` messages on "n" and returns them in arrival order.
  'app:collector': lua(`return { main = function(n)
    local got, ch = {}, process.listen("n")
    for i = 1, n do got[i] = ch:receive() end
    return got
  end }`),
  // Spawns `entry` on `node`, linked, and waits to be told (by the link) that it failed.
  'app:remote_parent': lua(`return { main = function(node, entry)
    local child = assert(process.with_options({ node = node }):spawn_linked(entry, "app:processes"))
    process.send(child, "stop", "fail")
    process.inbox():receive()
  end }`),
  'app:double': { kind: 'function.lua', source: 'return { main = function(n) return n * 2 end }' },
  'app:stall': {
    kind: 'function.lua',
    source: 'return { main = function() process.listen("never"):receive() end }',
  },
  // Calls functions on node "b": a value, a timeout, a function that does not exist.
  'app:caller': lua(
    `return { main = function()
      local funcs = require("funcs")
      local on_b = funcs.new():with_options({ node = "b" })
      local doubled = assert(on_b:call("app:double", 21))
      local _, late = funcs.new():with_options({ node = "b", timeout = 100 }):call("app:stall")
      local _, missing = on_b:call("app:nothing")
      return { doubled = doubled, late = late:kind(), missing = missing:kind() }
    end }`,
    ['funcs'],
  ),
  // Calls a function on node "b" that never ends.
  'app:stalled_caller': lua(
    `return { main = function()
      require("funcs").new():with_options({ node = "b" }):call("app:stall")
    end }`,
    ['funcs'],
  ),
  'app:sender': lua(`return { main = function(to, n)
    for i = 1, n do assert(process.send(to, "n", i)) end
    return n
  end }`),
};

let nodes: Harness[] = [];

afterEach(() => {
  for (const node of nodes) node.close();
  nodes = [];
});

async function cluster(...names: string[]) {
  const network = new InProcessNetwork();
  const started = await Promise.all(
    names.map((node, i) =>
      harness(ENTRIES, { transport: network.transport({ node, incarnation: 10 + i }) }),
    ),
  );
  nodes.push(...started);
  return { network, nodes: started };
}

const spawnOn = (h: Harness, entry: string, ...args: unknown[]) =>
  h.system.spawn({ entry, host: 'app:processes', args: encodeValues(args) });

async function outcome(h: Harness, pid: Pid) {
  return h.system.waitForExit(pid);
}

describe('PIDs on a cluster node', () => {
  it('name the node and its incarnation, and read back', () => {
    const pid = formatPid({ node: 'a', incarnation: 7, host: 'app:processes', id: 12 });
    expect(pid).toBe('{a~7@app:processes|12}');
    expect(parsePid(pid)).toEqual({ node: 'a', incarnation: 7, host: 'app:processes', id: 12 });
    expect(nodeOf(pid)).toBe('a');
    expect(nodeOf('{a@app:processes|12}')).toBe('a');
    expect(nodeOf('{app:flows|order@home}')).toBeUndefined();
    expect(parsePid('{app:processes|3}')).toEqual({
      node: undefined,
      incarnation: undefined,
      host: 'app:processes',
      id: 3,
    });
  });

  it('are spawned with this node and incarnation; an earlier incarnation reaches nothing', async () => {
    const [a] = (await cluster('a')).nodes as [Harness];
    const pid = spawnOn(a, 'app:target');
    expect(parsePid(pid)).toMatchObject({ node: 'a', incarnation: 10 });
    const before = `{a~9@app:processes|${parsePid(pid)?.id}}` as Pid;
    const refused = a.system.send({
      to: before,
      from: undefined,
      topic: 'stop',
      payload: encodeValues(['x']),
    });
    expect(refused).toMatchObject({ kind: 'NOT_FOUND' });
    expect(a.system.route(before).kind).toBe('nowhere');
  });
});

describe('across nodes', () => {
  it('keeps the order of one sender’s messages to a process of another node', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const collector = spawnOn(b, 'app:collector', 500);
    const sender = spawnOn(a, 'app:sender', collector, 500);
    expect(await endValueOf(a, sender)).toBe(500);
    expect(await endValueOf(b, collector)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('a monitor on another node gets EXIT with the value the process ended with', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const watcher = spawnOn(a, 'app:watcher', target, 'monitor');
    await until(() => b.system.process(target)?.monitors.has(watcher) === true);
    b.system.send({ to: target, from: undefined, topic: 'stop', payload: encodeValues(['done']) });
    expect(await endValueOf(a, watcher)).toEqual({ kind: 'EXIT', from: target, value: 'done' });
    // The watcher ended: nothing of it is left on the other node.
    expect(b.system.process(target)).toBeUndefined();
  });

  it('a link to a process of another node brings its failure home as LINK_DOWN', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const watcher = spawnOn(a, 'app:watcher', target, 'link');
    await until(() => b.system.process(target)?.links.has(watcher) === true);
    b.system.send({ to: target, from: undefined, topic: 'stop', payload: encodeValues(['fail']) });
    expect(await endValueOf(a, watcher)).toEqual({
      kind: 'LINK_DOWN',
      from: target,
      error: 'broken belt',
    });
  });

  it('monitoring a process of another node that is not alive answers EXIT NOT_FOUND', async () => {
    const [a] = (await cluster('a', 'b')).nodes as [Harness];
    const gone = '{b~11@app:processes|999}';
    const watcher = spawnOn(a, 'app:watcher', gone, 'monitor');
    const seen = (await endValueOf(a, watcher)) as { kind: string; error: string };
    expect(seen.kind).toBe('EXIT');
    expect(seen.error).toContain('does not exist or has ended');
  });

  it('unmonitor and unlink reach the other node', async () => {
    const { network, nodes } = await cluster('a', 'b');
    const [a, b] = nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const watcher = spawnOn(a, 'app:target');
    const self = a.system.process(watcher) as Process;
    a.system.monitor(self, target);
    a.system.link(self, target);
    await network.settled();
    expect(b.system.process(target)?.monitors.has(watcher)).toBe(true);
    expect(b.system.process(target)?.links.has(watcher)).toBe(true);
    a.system.unmonitor(self, target);
    a.system.unlink(self, target);
    await network.settled();
    expect(b.system.process(target)?.monitors.has(watcher)).toBe(false);
    expect(b.system.process(target)?.links.has(watcher)).toBe(false);
  });

  it('a node declared down: its watchers get EXIT and its links LINK_DOWN, "node down: b"', async () => {
    const { network, nodes } = await cluster('a', 'b');
    const [a, b] = nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const monitoring = spawnOn(a, 'app:watcher', target, 'monitor');
    const linked = spawnOn(a, 'app:watcher', target, 'link');
    await until(() => b.system.process(target)?.links.has(linked) === true);
    await until(() => b.system.process(target)?.monitors.has(monitoring) === true);
    const seenByMonitor = endValueOf(a, monitoring);
    const seenByLink = endValueOf(a, linked);
    network.cut('b');
    a.system.nodeDown({ node: 'b', incarnation: 11 });
    expect(await seenByMonitor).toEqual({
      kind: 'EXIT',
      from: target,
      error: 'node down: b',
    });
    expect(await seenByLink).toEqual({
      kind: 'LINK_DOWN',
      from: target,
      error: 'node down: b',
    });
  });

  it('a node declared down kills a linked process that does not trap links', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const linked = spawnOn(a, 'app:target');
    a.system.link(a.system.process(linked) as Process, target);
    a.system.nodeDown({ node: 'b', incarnation: 99 }); // another incarnation: not this one
    expect(a.system.process(linked)).toBeDefined();
    const ended = outcome(a, linked);
    a.system.nodeDown({ node: 'b', incarnation: 11 });
    const exit = await ended;
    expect(exit.ok).toBe(false);
    expect(!exit.ok && exit.error.message).toBe(`linked process failed: ${target}: node down: b`);
  });
});

describe('a workflow’s send carried out again on another node', () => {
  it('is taken once: a message with an origin the process took already is dropped', async () => {
    const [a, b, c] = (await cluster('a', 'b', 'c')).nodes as [Harness, Harness, Harness];
    const collector = spawnOn(b, 'app:collector', 3);
    const send = (from: Harness, n: number, origin?: string) =>
      from.system.send({
        to: collector,
        from: undefined,
        topic: 'n',
        payload: encodeValues([n]),
        ...(origin !== undefined ? { origin } : {}),
      });
    await send(a, 1, 'orders-7#1:3');
    // The run resumed on node c repeats its send 3, then goes on.
    await send(c, 1, 'orders-7#1:3');
    await send(c, 2, 'orders-7#1:4');
    await send(a, 3);
    expect(await endValueOf(b, collector)).toEqual([1, 2, 3]);
  });
});

describe('a process of another node known to have ended', () => {
  it('is NOT_FOUND for mail, signals, monitors and links, as an ended local process is', async () => {
    const { network, nodes } = await cluster('a', 'b');
    const [a, b] = nodes as [Harness, Harness];
    const target = spawnOn(b, 'app:target');
    const watcher = spawnOn(a, 'app:watcher', target, 'monitor');
    await until(() => b.system.process(target)?.monitors.has(watcher) === true);
    b.system.send({ to: target, from: undefined, topic: 'stop', payload: encodeValues(['done']) });
    expect(await endValueOf(a, watcher)).toMatchObject({ kind: 'EXIT', from: target });
    // Its EXIT came here: the PID is gone for good.
    const self = a.system.process(spawnOn(a, 'app:target')) as Process;
    const mail = { to: target, from: self.pid, topic: 'late', payload: encodeValues([1]) };
    expect(a.system.send(mail)).toMatchObject({ kind: 'NOT_FOUND' });
    expect(a.system.signal({ kind: 'terminate', to: target, from: self.pid })).toMatchObject({
      kind: 'NOT_FOUND',
    });
    expect(a.system.monitor(self, target)).toMatchObject({ kind: 'NOT_FOUND' });
    expect(a.system.link(self, target)).toMatchObject({ kind: 'NOT_FOUND' });
    // A process of a node declared down, whether or not its end reached this node.
    const other = spawnOn(b, 'app:target');
    network.cut('b');
    a.system.nodeDown({ node: 'b', incarnation: 11 });
    expect(a.system.send({ ...mail, to: other })).toMatchObject({ kind: 'NOT_FOUND' });
  });
});

describe('calling a function on another node', () => {
  it('runs it there and brings its value back; a timeout ends it there; a missing entry is NOT_FOUND', async () => {
    const { network, nodes } = await cluster('a', 'b');
    const [a, b] = nodes as [Harness, Harness];
    const caller = spawnOn(a, 'app:caller');
    expect(await endValueOf(a, caller)).toEqual({
      doubled: 42,
      late: 'Timeout',
      missing: 'NotFound',
    });
    await network.settled();
    await until(() => b.system.list().length === 0);
  });

  it('ends the function when the caller’s node is declared down: "the caller ended"', async () => {
    const { network, nodes } = await cluster('a', 'b');
    const [a, b] = nodes as [Harness, Harness];
    spawnOn(a, 'app:stalled_caller');
    await network.settled();
    await until(() => b.system.list().length === 1);
    const callee = b.system.list()[0] as Process;
    const ended = b.system.waitForExit(callee.pid);
    b.system.nodeDown({ node: 'a', incarnation: 10 });
    expect(await ended).toMatchObject({
      ok: false,
      error: { kind: 'CANCELED', message: 'the caller ended: node down: a' },
    });
  });
});

describe('an inbox of TypeScript code', () => {
  it('watches a process of another node: its end, or its node going down', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const ends = spawnOn(b, 'app:target');
    const stays = spawnOn(b, 'app:target');
    const seen: { from: Pid; outcome: unknown }[] = [];
    const inbox = a.system.openInbox(() => {});
    for (const target of [ends, stays]) {
      expect(
        inbox.watch(target, (outcome) =>
          seen.push({
            from: target,
            outcome: outcome.ok ? decodeValue(outcome.value) : outcome.error.message,
          }),
        ),
      ).toBeUndefined();
    }
    await until(() => b.system.process(stays)?.monitors.has(inbox.pid) === true);
    b.system.send({ to: ends, from: undefined, topic: 'stop', payload: encodeValues(['bye']) });
    await until(() => seen.length === 1);
    a.system.nodeDown({ node: 'b', incarnation: 11 });
    expect(seen).toEqual([
      { from: ends, outcome: 'bye' },
      { from: stays, outcome: 'node down: b' },
    ]);
    inbox.close();
  });
});

describe('spawning on another node', () => {
  it('runs the child there; a linked child that fails takes its parent down with it', async () => {
    const [a, b] = (await cluster('a', 'b')).nodes as [Harness, Harness];
    const parent = spawnOn(a, 'app:remote_parent', 'b', 'app:target');
    const exit = await outcome(a, parent);
    expect(exit.ok).toBe(false);
    expect(!exit.ok && exit.error.message).toMatch(
      /^linked process failed: \{b~11@app:processes\|\d+\}: broken belt$/,
    );
    expect(b.system.list()).toEqual([]);
  });

  it('refuses a node that is not in the cluster, and an entry the other node does not have', async () => {
    const [a] = (await cluster('a', 'b')).nodes as [Harness];
    const self = a.system.process(spawnOn(a, 'app:target')) as Process;
    const spawn = (node: string, entry: string) =>
      a.system.spawnAnywhere({
        entry,
        host: 'app:processes',
        args: encodeValues([]),
        parent: self,
        options: { node },
      });
    await expect(spawn('nobody', 'app:target')).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
    await expect(spawn('b', 'app:missing')).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    // This node, named: an ordinary local spawn.
    expect(spawn('a', 'app:target')).toMatch(/^\{a~10@/);
  });
});

async function endValueOf(h: Harness, pid: Pid): Promise<unknown> {
  const exit = await outcome(h, pid);
  if (!exit.ok) throw exit.error;
  return decodeValue(exit.value);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
