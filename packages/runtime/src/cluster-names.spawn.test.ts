import { expect, it } from 'vitest';
import type { Node } from './node.js';
import { clusterOnNats } from './testing/cluster.js';

// Names given at spawn in a cluster: `with_name(name, scope)` and `Node.spawn(…, { name,
// nameScope })` register a cluster name for the child before it runs, on the node the child
// runs on; a taken name fails the spawn and leaves no child behind.

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: desk
    kind: process.lua
    source: |
      return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "reply", process.pid())
        end
      end }
  - name: spawner
    kind: process.lua
    source: |
      return { main = function(name, node, scope)
        local spawner = process.with_name(name, scope)
        if node then spawner = spawner:with_options({ node = node }) end
        local pid, err = spawner:spawn("app:desk", "app:processes")
        if pid == nil then return { kind = err:kind(), message = err:message() } end
        return { pid = pid, lookup = process.registry.lookup(name) }
      end }
  - name: many
    kind: process.lua
    source: |
      return { main = function(prefix, scope, count)
        local pids = {}
        for i = 1, count do
          pids[i] = assert(process.with_name(prefix .. i, scope):spawn("app:desk", "app:processes"))
          assert(process.registry.lookup(prefix .. i) == pids[i], "found at once by its name")
        end
        return pids
      end }
  - name: quick
    kind: process.lua
    source: |
      return { main = function() return process.pid() end }
  - name: exec-named
    kind: process.lua
    source: |
      return { main = function(node)
        return assert(process.with_name("quick-job", process.registry.CLUSTER)
          :with_options({ node = node }):exec("app:quick", "app:processes"))
      end }
  - name: bad-scope
    kind: process.lua
    source: |
      return { main = function()
        local ok, err = pcall(process.with_name, "x", "planet")
        return tostring(err)
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

const cluster = clusterOnNats(APP, LIVENESS);

/** The desks running on `node` (spawner runs end on their own). */
function desks(node: Node): string[] {
  return node.system
    .list()
    .filter((process) => process.entry === 'app:desk')
    .map((process) => process.pid);
}

it('Node.spawn with a cluster name: every node finds the child by it; the same name again fails ALREADY_EXISTS naming the holder, and nothing runs', async () => {
  const a = await cluster.startNode('a');
  const b = await cluster.startNode('b');
  const desk = await b.spawn('app:desk', [], {
    host: 'app:processes',
    name: 'front-desk',
    nameScope: 'cluster',
  });
  // Registered before spawn returned: this node knows it at once.
  expect(b.system.lookupName('front-desk')).toBe(desk);
  await expect.poll(() => a.system.lookupName('front-desk'), { timeout: 30_000 }).toBe(desk);
  expect(await a.call('front-desk', 'ping', undefined, { timeoutMs: 30_000 })).toBe(desk);

  const again = a.spawn('app:desk', [], {
    host: 'app:processes',
    name: 'front-desk',
    nameScope: 'cluster',
  });
  await expect(again).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
  await expect(again).rejects.toThrow(desk);
  expect(desks(a)).toEqual([]);
  await expect(
    a.spawn('app:desk', [], { name: 'x', nameScope: 'planet' as 'local' }),
  ).rejects.toMatchObject({ kind: 'INVALID', message: expect.stringContaining('planet') });
}, 120_000);

it('with_name(name, CLUSTER) with the node option: the child runs on that node and holds the cluster name there; a second spawn of the name fails and leaves no child', async () => {
  const a = await cluster.startNode('a');
  const b = await cluster.startNode('b');
  const first = await a.run('app:spawner', ['remote-desk', 'b', 'cluster']);
  expect(first.ok).toBe(true);
  const { pid, lookup } = (first as { value: { pid: string; lookup: string } }).value;
  expect(pid).toMatch(/^\{b~\d+@app:processes\|\d+\}$/);
  // b registered it before the child ran; the spawn returned once a knew it too.
  expect(b.system.lookupName('remote-desk')).toBe(pid);
  expect(lookup).toBe(pid);
  expect(desks(b)).toEqual([pid]);

  for (const node of [undefined, 'b']) {
    const taken = await a.run('app:spawner', ['remote-desk', node, 'cluster']);
    expect(taken).toMatchObject({
      ok: true,
      value: { kind: 'AlreadyExists', message: expect.stringContaining(pid) },
    });
  }
  expect(desks(a)).toEqual([]);
  expect(desks(b)).toEqual([pid]);

  // exec: the child may end before this node hears of its name; its value still comes back.
  const job = await a.run('app:exec-named', ['b']);
  expect(job).toMatchObject({ ok: true, value: expect.stringMatching(/^\{b~/) });
}, 120_000);

it('with_name without a scope stays a local name (the node default); an unknown scope raises', async () => {
  const a = await cluster.startNode('a');
  const b = await cluster.startNode('b');
  const local = await a.run('app:spawner', ['own-desk', undefined, undefined]);
  const { pid } = (local as { value: { pid: string } }).value;
  expect(a.system.lookupName('own-desk')).toBe(pid);
  // Another node may hold the same local name for a process of its own.
  const there = await b.run('app:spawner', ['own-desk', undefined, 'local']);
  expect((there as { value: { pid: string } }).value.pid).toMatch(/^\{b~/);
  expect(await a.run('app:bad-scope')).toMatchObject({
    ok: true,
    value: expect.stringContaining('unknown name scope "planet"'),
  });
}, 120_000);

it('under spread placement a spawn with a cluster name spreads (every node finds it), one with a local name stays on its node', async () => {
  const a = await cluster.startNode('a', { cluster: { placement: 'spread' } });
  const b = await cluster.startNode('b', { cluster: { placement: 'spread' } });
  await expect
    .poll(() => Object.keys(a.clusterView?.view.members ?? {}).length, { timeout: 30_000 })
    .toBe(2);
  const spread = await a.run('app:many', ['spread-', undefined, 4]);
  const pids = (spread as { value: string[] }).value;
  expect(pids.filter((pid) => pid.startsWith('{b~'))).toHaveLength(2);
  for (const [i, pid] of pids.entries())
    await expect.poll(() => b.system.lookupName(`spread-${i + 1}`), { timeout: 30_000 }).toBe(pid);
  const local = await a.run('app:many', ['local-', 'local', 4]);
  for (const pid of (local as { value: string[] }).value) expect(pid).toMatch(/^\{a~/);
}, 120_000);
