import { afterEach, expect, it } from 'vitest';
import type { Node } from './node.js';
import { clusterOnNats } from './testing/cluster.js';

// Mail to a name on a node, `{node@|name}` (process.registry.on_node): it travels in the
// node's mail and is resolved by whichever run of the node takes it, so mail sent while the
// node restarts reaches the service that registers the name in its next run.

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: keeper
    kind: process.lua
    source: |
      local function keep(msg) print("kept " .. tostring(msg:payload():data())) end
      return { main = function()
        assert(process.registry.register("keeper"))
        local inbox, events = process.inbox(), process.events()
        while true do
          local chosen = channel.select({ inbox:case_receive(), events:case_receive() })
          if chosen.channel == inbox then
            keep(chosen.value)
          else
            -- Asked to stop: what is already in the mailbox is kept too.
            while true do
              local more = channel.select({ inbox:case_receive(), default = true })
              if more.default then return "stopped" end
              keep(more.value)
            end
          end
        end
      end }
  - name: keeper_service
    kind: process.service
    process: keeper
    host: processes
    lifecycle: { auto_start: true }
  - name: sender
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(node, from, to, pause)
        local address = assert(process.registry.on_node("keeper", node))
        for i = from, to do
          local ok, err = process.send(address, "n", i)
          if not ok then return { failed = i, error = err:message() } end
          if pause then time.sleep(pause) end
        end
        return { sent = to }
      end }
  - name: addresses
    kind: process.lua
    source: |
      return { main = function()
        local address = process.registry.on_node("keeper", "a")
        local _, bad_node = process.registry.on_node("keeper", "no such node")
        local _, no_name = process.send(process.registry.on_node("nobody", "a"), "n", 1)
        return {
          address = address,
          here = process.send(address, "n", "to a"),
          bad_node = bad_node:kind(),
          no_name = no_name:message(),
          elsewhere = process.send(process.registry.on_node("nobody", "b"), "n", 1),
        }
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

const cluster = clusterOnNats(APP, LIVENESS);

let appDir: Promise<string> | undefined;

afterEach(() => {
  appDir = undefined;
});

/** A cluster node running APP with its services; what its processes print goes to `kept`. */
async function clusterNode(name: string, kept: number[]): Promise<Node> {
  appDir ??= cluster.writeAppDir();
  const node = await cluster.startNode(name, {
    dir: await appDir,
    print: (text) => {
      const match = /^kept (\d+)$/.exec(text);
      if (match) kept.push(Number(match[1]));
    },
  });
  await node.startServices();
  return node;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

it('on_node addresses a name on a node: this node resolves it at once, another node takes it there; a bad node or an unknown name is said', async () => {
  const keptOnA: number[] = [];
  const a = await clusterNode('a', keptOnA);
  await clusterNode('b', []);
  const outcome = await a.run('app:addresses');
  expect(outcome).toEqual({
    ok: true,
    value: {
      address: '{a@|keeper}',
      here: true,
      bad_node: 'Invalid',
      no_name: 'no process holds the name "nobody" on node a',
      // Taken by JetStream for node b; b drops it (nobody holds the name) and says so.
      elsewhere: true,
    },
  });
  // Node.send takes the address too.
  await a.send('{a@|keeper}', 'n', 7);
  await expect.poll(() => keptOnA, { timeout: 30_000 }).toContain(7);
}, 120_000);

it('mail sent to {b@|keeper} while b stops, is down and starts again reaches keeper once, in order: mail to a name nobody holds waits while b starts, and is left for its next run while it stops', async () => {
  const keptOnB: number[] = [];
  const a = await clusterNode('a', []);
  let b = await clusterNode('b', keptOnB);
  expect(await a.run('app:sender', ['b', 1, 20])).toEqual({ ok: true, value: { sent: 20 } });
  await expect.poll(() => keptOnB.length, { timeout: 30_000 }).toBe(20);

  // Sending goes on (a message every 10 ms) while b stops, is down and starts again.
  const sending = a.run('app:sender', ['b', 21, 300, '10ms']);
  await expect.poll(() => keptOnB.length, { timeout: 30_000 }).toBeGreaterThan(40);
  await b.stop();
  const keptOnNextB: number[] = [];
  b = await clusterNode('b', keptOnNextB);
  expect(await sending).toEqual({ ok: true, value: { sent: 300 } });
  await expect.poll(() => keptOnB.length + keptOnNextB.length, { timeout: 60_000 }).toBe(300);
  expect([...keptOnB, ...keptOnNextB]).toEqual(range(1, 300));
  expect(keptOnNextB.length).toBeGreaterThan(0);
}, 150_000);
