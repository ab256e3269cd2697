import { decodeValue } from '@luact/lua';
import { startTcpProxy, type TcpProxyHandle } from '@luact/testkit';
import { expect, it } from 'vitest';
import { clusterOnNats } from './testing/cluster.js';

// Nodes of one cluster in one test process, each with its own NATS connection: what the
// runtime wires (membership, mail, spawns, node down, expulsion). Liveness is shortened so the
// test does not wait seconds per step; the bounds are the same rules.

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: waiter
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() return "stopped" end }
  - name: watcher
    kind: process.lua
    source: |
      return { main = function(node)
        local on_node = process.with_options({ node = node })
        local doubled = assert(on_node:exec("app:double", "app:processes", 21))
        local child = assert(on_node:spawn_monitored("app:waiter", "app:processes"))
        process.send(process.pid(), "ready", child)
        local event = process.events():receive()
        return { doubled = doubled, child = child, kind = event.kind, from = event.from,
          error = event.result.error and event.result.error:message() }
      end }
  - name: spawner
    kind: process.lua
    source: |
      return { main = function(node)
        local on_node = process.with_options({ node = node })
        local child, err = on_node:spawn("app:waiter", "app:processes")
        return { child = child, error = err and err:message() }
      end }
  - name: double
    kind: process.lua
    source: |
      return { main = function(n) return n * 2 end }
  - name: sender
    kind: process.lua
    source: |
      return { main = function(to)
        local sent, err = process.send(to, "stop")
        return { sent = sent, error = err and err:message() }
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

const cluster = clusterOnNats(APP, LIVENESS);

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('spawns across nodes, and a node cut off is declared down, then expelled and halts', {
  timeout: 120_000,
}, async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: cluster.server().port });
  cluster.onCleanup(() => proxy.close());
  const a = await cluster.startNode('a');
  const b = await cluster.startNode('b', { servers: proxy.url });
  expect(a.clusterView?.identity.node).toBe('a');
  const bIdentity = b.clusterView?.identity;
  await until(
    'both nodes in one view',
    () => Object.keys(a.clusterView?.view.members ?? {}).length === 2,
  );

  const watcher = await a.spawn('app:watcher', ['b'], 'app:processes');
  const exit = a.system.waitForExit(watcher);
  // The cut waits until a holds the child's PID, not merely until b runs the child: b answers
  // the spawn after starting it, and that answer may still be on its way through the proxy.
  const watcherProcess = a.system.list().find((p) => p.entry === 'app:watcher');
  await until('the watcher to hold its child on b', () =>
    [...(watcherProcess?.monitoring ?? [])].some((pid) => pid.startsWith('{b~')),
  );
  expect(b.system.list().some((p) => p.entry === 'app:waiter')).toBe(true);

  let halted: string | undefined;
  void b.halted.then((error) => {
    halted = error.message;
  });
  const cutAt = Date.now();
  proxy.pause();
  const outcome = await exit;
  const downAfter = Date.now() - cutAt;
  if (!outcome.ok) throw outcome.error;
  const seen = decodeValue(outcome.value) as Record<string, unknown>;
  expect(seen).toMatchObject({ doubled: 42, kind: 'EXIT', error: 'node down: b' });
  expect(seen.child).toBe(seen.from);
  expect(String(seen.child)).toMatch(
    new RegExp(`^\\{b~${bIdentity?.incarnation}@app:processes\\|`),
  );
  // Declared down after downAfterMs of silence, not before.
  expect(downAfter).toBeGreaterThanOrEqual(LIVENESS.downAfterMs - 250);

  proxy.resume();
  await until('b to learn it was expelled', () => halted !== undefined);
  expect(halted).toBe(
    'node b was declared down by its cluster (cut off from NATS too long); it must start again to rejoin',
  );
});

it('a spawn on a node cut off before it answers fails once that node is declared down', {
  timeout: 120_000,
}, async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: cluster.server().port });
  cluster.onCleanup(() => proxy.close());
  const c = await cluster.startNode('c');
  const d = await cluster.startNode('d', { servers: proxy.url });
  await until(
    'both nodes in one view',
    () => Object.keys(c.clusterView?.view.members ?? {}).length === 2,
  );
  let halted = false;
  void d.halted.then(() => {
    halted = true;
  });

  // d still holds its subscription at the server, so the request reaches the proxy and waits
  // there: neither the request nor an answer gets through until d is declared down.
  proxy.pause();
  const spawner = await c.spawn('app:spawner', ['d'], 'app:processes');
  const outcome = await c.system.waitForExit(spawner);
  if (!outcome.ok) throw outcome.error;
  expect(decodeValue(outcome.value)).toEqual({
    error:
      'cannot spawn app:waiter on node "d": it left the cluster (it stopped, or was declared down) while the spawn waited for its answer',
  });

  proxy.resume();
  await until('d to learn it was expelled', () => halted);
});

it('gives up a send NATS does not store after the node’s send timeout, not the default 15 s', {
  timeout: 120_000,
}, async () => {
  const proxy: TcpProxyHandle = await startTcpProxy({ targetPort: cluster.server().port });
  cluster.onCleanup(() => proxy.close());
  const e = await cluster.startNode('e');
  const f = await cluster.startNode('f', { servers: proxy.url, cluster: { sendTimeoutMs: 1_000 } });
  await until(
    'both nodes in one view',
    () => Object.keys(f.clusterView?.view.members ?? {}).length === 2,
  );
  const waiter = await e.spawn('app:waiter', [], 'app:processes');

  proxy.pause();
  const sender = await f.spawn('app:sender', [waiter], 'app:processes');
  const outcome = await f.system.waitForExit(sender);
  if (!outcome.ok) throw outcome.error;
  const { error } = decodeValue(outcome.value) as { error: string };
  const waited = /^mail to node "e" was not stored by JetStream within (\d+\.\d) s/.exec(error);
  // Its own bound, not the default 15 s (a loaded machine may take a while to notice it).
  expect(Number(waited?.[1])).toBeGreaterThanOrEqual(1);
  expect(Number(waited?.[1])).toBeLessThan(10);
  proxy.resume();
});
