import { expect, it } from 'vitest';
import { clusterOnNats } from './testing/cluster.js';

// Cluster names through the node: a Lua process registers a cluster name on one node, the
// other node finds it and calls it by name from TypeScript and from Lua.

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: desk
    kind: process.lua
    source: |
      return { main = function(name)
        assert(process.registry.register(name, nil, process.registry.CLUSTER))
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "reply", "served " .. msg:payload():data() .. " at " .. process.pid())
        end
      end }
  - name: visitor
    kind: process.lua
    source: |
      return { main = function(name)
        local pid = assert(process.registry.lookup(name))
        assert(process.send(name, "visit", "a visitor"))
        return { pid = pid, reply = process.inbox():receive():payload():data() }
      end }
`;

const LIVENESS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 };

const cluster = clusterOnNats(APP, LIVENESS);

it('reaches a cluster name registered on another node by call and by Lua send; a node that stops releases it', async () => {
  const a = await cluster.startNode('a');
  const b = await cluster.startNode('b');
  const desk = await b.spawn('app:desk', ['front-desk']);
  await expect.poll(() => a.system.lookupName('front-desk'), { timeout: 30_000 }).toBe(desk);
  expect(await a.call('front-desk', 'visit', 'a caller', { timeoutMs: 30_000 })).toBe(
    `served a caller at ${desk}`,
  );
  expect(await a.run('app:visitor', ['front-desk'])).toEqual({
    ok: true,
    value: { pid: desk, reply: `served a visitor at ${desk}` },
  });
  await b.stop();
  await expect
    .poll(() => a.system.lookupName('front-desk'), { timeout: 30_000 })
    .toMatchObject({ kind: 'NOT_FOUND' });
}, 120_000);
