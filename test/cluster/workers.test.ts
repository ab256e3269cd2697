import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { entryId } from '@luact/core';
import { Node, type RunOutcome } from '@luact/runtime';
import { type NatsServerHandle, startNatsServer, startTcpProxy } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Two cluster nodes in this test process on one nats-server: node `a` runs host app:w2 on two
 * worker threads, node `b` runs it on its main thread. What crosses between a worker's
 * processes and the other node goes through a's main thread (its one NATS connection).
 */

/** The application, with app:w2 on `workers` threads. */
const app = (workers: number) => `
namespace: app
entries:
  - name: w2
    kind: process.host
    host:
      workers: ${workers}
  - name: plain
    kind: process.host

  # Takes n numbered messages, answering each to its sender with the same number.
  - name: receiver
    kind: process.lua
    source: |
      return { main = function(n)
        local inbox = process.inbox()
        local last, in_order = 0, true
        for _ = 1, n do
          local msg = inbox:receive()
          local i = msg:payload():data()
          if i ~= last + 1 then in_order = false end
          last = i
          assert(process.send(msg:from(), "back", i))
        end
        return { in_order = in_order, last = last, pid = process.pid() }
      end }

  # Sends n numbered messages to \`to\`, then reads the n answers.
  - name: sender
    kind: process.lua
    source: |
      return { main = function(to, n)
        for i = 1, n do assert(process.send(to, "n", i)) end
        local back = process.listen("back")
        local last, in_order = 0, true
        for _ = 1, n do
          local i = back:receive()
          if i ~= last + 1 then in_order = false end
          last = i
        end
        return { in_order = in_order, last = last }
      end }

  - name: waiter
    kind: process.lua
    source: |
      return { main = function() return process.listen("stop"):receive() end }

  # Spawns a waiter on \`node\`, linked (trapping links) and monitored; returns both events.
  - name: linker
    kind: process.lua
    source: |
      return { main = function(node)
        assert(process.set_options({ trap_links = true }))
        local child = assert(process.with_options({ node = node }):spawn_linked("app:waiter", "app:plain"))
        assert(process.monitor(child))
        local events = process.events()
        local seen = {}
        for _ = 1, 2 do
          local e = events:receive()
          seen[e.kind] = { from = e.from == child, error = e.result.error and e.result.error:message() }
        end
        return { pid = process.pid(), child = child, seen = seen }
      end }

  # Monitors \`pid\` (and links to it, trapping links, when \`link\`), then sends it topic
  # \`tell\` (after the monitor and the link, in order with them), and returns the events.
  - name: watcher
    kind: process.lua
    source: |
      return { main = function(pid, tell, link)
        assert(process.set_options({ trap_links = true }))
        assert(process.monitor(pid))
        if link then assert(process.link(pid)) end
        assert(process.send(pid, tell, "stopped"))
        local events = process.events()
        local seen = {}
        for _ = 1, link and 2 or 1 do
          local e = events:receive()
          seen[e.kind] = { from = e.from == pid, value = e.result.value,
            error = e.result.error and e.result.error:message() }
        end
        return seen
      end }

  # Holds cluster name \`name\` and answers "hello" with who it is.
  - name: named
    kind: process.lua
    source: |
      return { main = function(name)
        assert(process.registry.register(name, nil, process.registry.CLUSTER))
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "hello", process.pid())
        end
      end }

  # Finds cluster name \`name\` (its table may hear of it a moment after), sends to it by name.
  - name: caller
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(name)
        local found
        for _ = 1, 500 do
          found = process.registry.lookup(name)
          if found then break end
          time.sleep("10ms")
        end
        assert(found, "no holder of " .. name)
        assert(process.send(name, "hi"))
        return { found = found, answered = process.listen("hello"):receive(), me = process.pid() }
      end }

  # Registers cluster name \`name\` for a child of its own on the main thread's host, and
  # returns the child (which waits for "stop").
  - name: cross_register
    kind: process.lua
    source: |
      return { main = function(name)
        local child = assert(process.spawn("app:waiter", "app:plain"))
        assert(process.registry.register(name, child, process.registry.CLUSTER))
        assert(process.registry.lookup(name) == child)
        return child
      end }

  # Runs app:where on host \`host\` of node \`node\`.
  - name: remote_exec
    kind: process.lua
    source: |
      return { main = function(node, host)
        return assert(process.with_options({ node = node }):exec("app:where", host))
      end }

  - name: where
    kind: process.lua
    source: |
      return { main = function() return process.pid() end }

  - name: add
    kind: function.lua
    source: |
      return { main = function(x, y) return { sum = x + y, node = process.pid() } end }

  # On \`node\`: calls app:add there, then spawns a waiter there and terminates it (monitored).
  - name: far_calls
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(node)
        local added = assert(funcs.new():with_options({ node = node }):call("app:add", 20, 22))
        local waiter = assert(process.with_options({ node = node }):spawn_monitored("app:waiter", "app:plain"))
        assert(process.terminate(waiter))
        local e = process.events():receive()
        return { added = added, ended = { kind = e.kind, from = e.from == waiter,
          error = e.result.error:message() } }
      end }

  # Monitors a waiter it spawns on \`node\`; says so by its cluster name "watching"; returns its
  # EXIT.
  - name: far_watch
    kind: process.lua
    source: |
      return { main = function(node)
        local waiter = assert(process.with_options({ node = node }):spawn_monitored("app:waiter", "app:plain"))
        assert(process.registry.register("far-watch-ready", nil, process.registry.CLUSTER))
        local e = process.events():receive()
        return { from = e.from == waiter, kind = e.kind, error = e.result.error:message() }
      end }

  # Spawns n waiters without naming a node and registers a name without a scope: returns where
  # they run and whether the name is the cluster's.
  - name: spreader
    kind: process.lua
    source: |
      return { main = function(n, name)
        local nodes = {}
        for _ = 1, n do
          local pid = assert(process.spawn("app:waiter", "app:plain"))
          nodes[#nodes + 1] = pid
          process.send(pid, "stop", "done")
        end
        assert(process.registry.register(name))
        return { children = nodes, me = process.pid() }
      end }

  # Spawns a short-lived child on its own thread, tells the watcher named \`watcher\` both PIDs,
  # and fails its thread once armed.
  - name: pair
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      return { main = function(watcher)
        local short = assert(process.spawn("app:short", "app:w2"))
        assert(process.send(watcher, "pids", { short = short, pair = process.pid() }))
        process.listen("armed"):receive()
        hooks.fail_worker("throw")
        process.listen("never"):receive()
      end }

  # Says goodbye to whoever says go, and returns without an error.
  - name: short
    kind: process.lua
    source: |
      return { main = function()
        local go = process.inbox():receive()
        process.send(go:from(), "bye", true)
        return "done"
      end }

  # Links to the short child (it ends without an error: no LINK_DOWN, and its node unlinks),
  # then monitors the pair and arms it: the first event is the pair's EXIT.
  - name: linked_watcher
    kind: process.lua
    source: |
      return { main = function()
        assert(process.registry.register("linked-watcher", nil, process.registry.CLUSTER))
        assert(process.set_options({ trap_links = true }))
        local pids = process.listen("pids"):receive()
        assert(process.link(pids.short))
        assert(process.send(pids.short, "go", 1))
        process.listen("bye"):receive()
        assert(process.monitor(pids.pair))
        assert(process.send(pids.pair, "armed", 1))
        local e = process.events():receive()
        return { kind = e.kind, from_pair = e.from == pids.pair,
          error = e.result.error and e.result.error:message() }
      end }

  # Fails its worker thread once its watcher is armed (luact_test: only with test hooks).
  - name: breaker
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      return { main = function()
        assert(process.registry.register("breaker", nil, process.registry.CLUSTER))
        process.listen("armed"):receive()
        hooks.fail_worker("throw")
        process.listen("never"):receive()
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

let server: NatsServerHandle | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(async () => {
  await server?.stop();
});

/**
 * Starts cluster node `name` with app:w2 on `workers` threads (through `servers`, the suite's
 * server by default); it stops after the test.
 */
async function startNode(
  name: string,
  workers: number,
  options: {
    readonly logged?: string[];
    readonly servers?: string;
    readonly placement?: 'spread';
  } = {},
): Promise<Node> {
  const dir = await mkdtemp(path.join(tmpdir(), `luact-cluster-workers-${name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'app.yaml'), app(workers));
  const node = await Node.start({
    dir,
    env: {},
    print: () => {},
    log: (record) => options.logged?.push(record.message),
    nats: { servers: options.servers ?? (server as NatsServerHandle).url },
    cluster: {
      name,
      liveness: LIVENESS,
      ...(options.placement ? { placement: options.placement } : {}),
    },
    testHooks: true,
  });
  cleanups.push(() => node.stop());
  return node;
}

/** Nodes a (app:w2 on two worker threads) and b (on its main thread), both in one view. */
async function twoNodes(
  names: readonly [string, string],
  options: Parameters<typeof startNode>[2] = {},
  bServers?: string,
) {
  const a = await startNode(names[0], 2, options);
  const b = await startNode(names[1], 1, {
    ...(options.placement ? { placement: options.placement } : {}),
    ...(bServers ? { servers: bServers } : {}),
  });
  await until('both nodes in one view', () =>
    [a, b].every((node) => Object.keys(node.clusterView?.view.members ?? {}).length === 2),
  );
  expect(a.workers?.runs('app:w2')).toBe(true);
  expect(b.workers).toBeUndefined();
  return { a, b };
}

async function until<T>(what: string, found: () => T | undefined | false, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = found();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function valueOfRun(outcome: RunOutcome): Record<string, unknown> {
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

/** A PID of node `node` on app:w2, which only node a's worker threads run. */
const onWorker = (node: string) => new RegExp(`^\\{${node}~\\d+@app:w2\\|\\d+\\}$`);

describe('a cluster node whose host runs on worker threads', () => {
  it('carries messages both ways between a worker and another node, in order per sender', async () => {
    const { a, b } = await twoNodes(['ord-a', 'ord-b']);
    const n = 300;
    const receiver = await a.spawn('app:receiver', [n], 'app:w2');
    expect(receiver).toMatch(onWorker('ord-a'));
    expect(a.system.process(receiver)).toBeUndefined();
    const received = a.system.list().length;
    const sent = valueOfRun(await b.run('app:sender', [receiver, n], { timeoutMs: 60_000 }));
    expect(sent).toEqual({ in_order: true, last: n });
    // and the other way: a worker's process sends to a process of b.
    const onB = await b.spawn('app:receiver', [n], 'app:plain');
    const back = valueOfRun(
      await a.run('app:sender', [onB, n], { host: 'app:w2', timeoutMs: 60_000 }),
    );
    expect(back).toEqual({ in_order: true, last: n });
    expect(a.system.list().length).toBe(received);
  }, 120_000);

  it('reaches a workers host added while the node runs from another node, both ways, and tells that node when it is removed', async () => {
    const { a, b } = await twoNodes(['add-a', 'add-b']);
    const added = a.applyChanges([
      {
        op: 'create',
        definition: {
          namespace: 'app',
          name: 'wx',
          kind: 'process.host',
          fields: { host: { workers: 2 } },
        },
      },
    ]);
    expect(added).toMatchObject({ ok: true });
    await a.workers?.hostChangesApplied();
    expect(a.workers?.threadCount).toBe(4);
    const onWx = /^\{add-a~\d+@app:wx\|\d+\}$/;
    const n = 200;
    const receiver = await a.spawn('app:receiver', [n], 'app:wx');
    expect(receiver).toMatch(onWx);
    expect(valueOfRun(await b.run('app:sender', [receiver, n], { timeoutMs: 60_000 }))).toEqual({
      in_order: true,
      last: n,
    });
    const onB = await b.spawn('app:receiver', [n], 'app:plain');
    expect(
      valueOfRun(await a.run('app:sender', [onB, n], { host: 'app:wx', timeoutMs: 60_000 })),
    ).toEqual({ in_order: true, last: n });
    // b monitors and links to a process of the added host; the host is removed.
    const waiter = await a.spawn('app:waiter', [], 'app:wx');
    const watching = b.run('app:watcher', [waiter, 'nothing', true], { timeoutMs: 60_000 });
    // (The watcher sends "nothing" after its monitor and link: once it is in the mailbox, both are set.)
    for (let tries = 0; ; tries++) {
      const view = await a.processInfo(waiter);
      if (view !== undefined && view.links > 0 && view.mailbox > 0) break;
      if (tries > 1_500) throw new Error('the link from b never reached the waiter on a');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(a.applyChanges([{ op: 'delete', id: entryId('app', 'wx') }])).toMatchObject({
      ok: true,
    });
    const seen = valueOfRun(await watching);
    expect(seen).toEqual({
      EXIT: { from: true, error: expect.stringContaining('terminated') },
      LINK_DOWN: { from: true, error: expect.stringContaining('terminated') },
    });
    await a.workers?.hostChangesApplied();
    expect(a.workers?.threadCount).toBe(2);
  }, 120_000);

  it('lets a worker’s process spawn linked onto another node, and tells it when that node stops', async () => {
    const { a, b } = await twoNodes(['lnk-a', 'lnk-b']);
    const linker = a.run('app:linker', [b.clusterView?.identity.node], {
      host: 'app:w2',
      timeoutMs: 60_000,
    });
    await until('the child on b', () => b.system.list().some((p) => p.entry === 'app:waiter'));
    // The child's PID has reached the linker once b's table of links holds it; the linker
    // monitors it next (under load, b could stop before that monitor arrived: NOT_FOUND).
    await until('the link and the monitor in place on b', () =>
      b.system
        .list()
        .find((p) => p.entry === 'app:waiter' && p.links.size > 0 && p.monitors.size > 0),
    );
    await b.stop();
    const seen = valueOfRun(await linker);
    expect(seen.pid).toMatch(onWorker('lnk-a'));
    expect(seen.seen).toEqual({
      EXIT: { from: true, error: expect.any(String) },
      LINK_DOWN: { from: true, error: expect.any(String) },
    });
  }, 120_000);

  it('lets a process of another node monitor a worker’s process and get its EXIT', async () => {
    const { a, b } = await twoNodes(['mon-a', 'mon-b']);
    const waiter = await a.spawn('app:waiter', [], 'app:w2');
    expect(waiter).toMatch(onWorker('mon-a'));
    const seen = valueOfRun(
      await b.run('app:watcher', [waiter, 'stop', false], { timeoutMs: 60_000 }),
    );
    expect(seen).toEqual({ EXIT: { from: true, value: 'stopped' } });
  }, 120_000);

  it('finds and sends to a cluster name a worker’s process holds, from the other node and back', async () => {
    const { a, b } = await twoNodes(['nam-a', 'nam-b']);
    const holder = await a.spawn('app:named', ['on-worker'], 'app:w2');
    const fromB = valueOfRun(await b.run('app:caller', ['on-worker'], { timeoutMs: 60_000 }));
    expect(fromB).toMatchObject({ found: holder, answered: holder });
    // b's holder, found from a worker.
    const onB = await b.spawn('app:named', ['on-b'], 'app:plain');
    const fromWorker = valueOfRun(
      await a.run('app:caller', ['on-b'], { host: 'app:w2', timeoutMs: 60_000 }),
    );
    expect(fromWorker).toMatchObject({ found: onB, answered: onB });
    expect(fromWorker.me).toMatch(onWorker('nam-a'));
    // The holder's end releases the name everywhere.
    await a.send(holder, 'stop');
    await until('the name released on b', () => b.system.lookupName('on-worker') instanceof Error);
    // A spawn onto the workers host with a cluster name: known on b once it returns.
    const spawned = await a.spawn('app:waiter', [], {
      host: 'app:w2',
      name: 'by-spawn',
      nameScope: 'cluster',
    });
    expect(spawned).toMatch(onWorker('nam-a'));
    await until('b to hear of the spawned name', () => b.system.lookupName('by-spawn') === spawned);
    // A worker's process gives a cluster name to a process of the main thread, and main's
    // to a worker's: each is known on b, and released when its holder ends.
    const child = await a.run('app:cross_register', ['cross'], {
      host: 'app:w2',
      timeoutMs: 60_000,
    });
    expect(child).toEqual({ ok: true, value: expect.stringMatching(/^\{nam-a~\d+@app:plain\|/) });
    const onMain = (child as { value: string }).value;
    await until('b to hear of the name of main’s process', () =>
      b.system.lookupName('cross') === onMain ? true : undefined,
    );
    const byMain = await a.spawn('app:waiter', [], 'app:w2');
    await a.system.registerName('from-main', byMain as never, 'cluster');
    await until(
      'b to hear of the name main gave',
      () => b.system.lookupName('from-main') === byMain,
    );
    await a.send(onMain, 'stop', 'done');
    await a.send(byMain, 'stop', 'done');
    await until('both names released on b', () =>
      ['cross', 'from-main'].every((name) => b.system.lookupName(name) instanceof Error),
    );
  }, 120_000);

  it('runs a spawn another node asks for onto the host on one of its worker threads', async () => {
    const { a, b } = await twoNodes(['spw-a', 'spw-b']);
    const ran = await b.run('app:remote_exec', [a.clusterView?.identity.node, 'app:w2'], {
      timeoutMs: 60_000,
    });
    expect(ran).toEqual({ ok: true, value: expect.stringMatching(onWorker('spw-a')) });
  }, 120_000);

  it('tells a worker’s process that follows a process of another node when that node is declared down', async () => {
    const proxy = await startTcpProxy({ targetPort: (server as NatsServerHandle).port });
    cleanups.push(() => proxy.close());
    const { a } = await twoNodes(['cut-a', 'cut-b'], {}, proxy.url);
    const watch = a.run('app:far_watch', ['cut-b'], { host: 'app:w2', timeoutMs: 60_000 });
    await until(
      'the watcher ready',
      () => !(a.system.lookupName('far-watch-ready') instanceof Error),
    );
    proxy.pause();
    // (b is expelled once it hears again; its stop after the test needs NATS back.)
    cleanups.push(async () => proxy.resume());
    const seen = valueOfRun(await watch);
    expect(seen).toEqual({ from: true, kind: 'EXIT', error: 'node down: cut-b' });
  }, 120_000);

  it('spreads a worker’s spawns over the cluster and gives its names to the cluster with placement spread', async () => {
    const { a, b } = await twoNodes(['spr-a', 'spr-b'], { placement: 'spread' });
    const spread = valueOfRun(
      await a.run('app:spreader', [4, 'spread-name'], { host: 'app:w2', timeoutMs: 60_000 }),
    );
    const children = spread.children as string[];
    expect(new Set(children.map((pid) => pid.slice(1, pid.indexOf('~'))))).toEqual(
      new Set(['spr-a', 'spr-b']),
    );
    expect(spread.me).toMatch(onWorker('spr-a'));
    await until('the name known on b', () => b.system.lookupName('spread-name') === spread.me);
  }, 120_000);

  it('lets a worker’s process call a function on another node and terminate a process there', async () => {
    const { a } = await twoNodes(['far-a', 'far-b']);
    const far = valueOfRun(
      await a.run('app:far_calls', ['far-b'], { host: 'app:w2', timeoutMs: 60_000 }),
    );
    expect(far).toEqual({
      added: { sum: 42, node: expect.stringMatching(/^\{far-b~\d+@luact:functions\|\d+\}$/) },
      ended: { kind: 'EXIT', from: true, error: 'terminated' },
    });
  }, 120_000);

  it('tells a lost worker’s end to no process of another node linked to one of its processes that ended well before', async () => {
    const { a, b } = await twoNodes(['gone-a', 'gone-b']);
    const watching = b.run('app:linked_watcher', [], { timeoutMs: 60_000 });
    await until(
      'the watcher’s name',
      () => !(a.system.lookupName('linked-watcher') instanceof Error),
    );
    await a.spawn('app:pair', ['linked-watcher'], 'app:w2');
    expect(valueOfRun(await watching)).toEqual({
      kind: 'EXIT',
      from_pair: true,
      error: expect.stringContaining('worker down: app:w2#'),
    });
  }, 120_000);

  it('tells the processes of another node that followed a worker’s process when its thread is lost', async () => {
    const logged: string[] = [];
    const { a, b } = await twoNodes(['lost-a', 'lost-b'], { logged });
    const breaker = await a.spawn('app:breaker', [], 'app:w2');
    await until('the breaker’s name on b', () => b.system.lookupName('breaker') === breaker);
    // The breaker fails its thread once the watcher's monitor and link reached it.
    const seen = valueOfRun(
      await b.run('app:watcher', [breaker, 'armed', true], { timeoutMs: 60_000 }),
    );
    const lost = expect.stringContaining('worker down: app:w2#');
    expect(seen).toEqual({
      EXIT: { from: true, error: lost },
      LINK_DOWN: { from: true, error: lost },
    });
    await until('the worker replaced', () => logged.some((line) => line.includes('was replaced')));
    // The cluster names its processes held are released: another node's process can take one.
    const taker = await b.spawn('app:waiter', [], 'app:plain');
    const deadline = Date.now() + 30_000;
    let refused: unknown;
    do {
      refused = await Promise.resolve(b.system.registerName('breaker', taker as never, 'cluster'))
        .then(() => undefined)
        .catch((error: unknown) => error);
      if (refused !== undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    } while (refused !== undefined && Date.now() < deadline);
    expect(refused).toBeUndefined();
  }, 120_000);
});
