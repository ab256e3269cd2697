import { LuactError } from '@luact/core';
import type { Node } from '@luact/runtime';
import { type Benchmark, type Figure, median } from '../harness.js';
import {
  bareCoroutineCost,
  bareLuaCallMicros,
  messageChannelRate,
  resumeYieldMicros,
  toySchedulerRate,
} from './baselines.js';
import { benchNode } from './lua-app.js';

const APP = `
namespace: bench
entries:
  - name: processes
    kind: process.host
    host: { max_processes: 200000, max_mailbox: 100000 }
  - name: quick
    kind: process.lua
    source: "return { main = function() end }"
  - name: spawner
    kind: process.lua
    source: |
      return { main = function(n)
        for i = 1, n do process.spawn("quick", "processes") end
      end }
  - name: idle
    kind: process.lua
    source: "return { main = function() process.inbox():receive() end }"
  - name: spawn_idle
    kind: process.lua
    source: |
      return { main = function(n)
        for i = 1, n do process.spawn("idle", "processes") end
      end }
  - name: pong
    kind: process.lua
    source: |
      return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }
  - name: ping
    kind: process.lua
    source: |
      return { main = function(messages, window)
        local peer = process.spawn_linked("pong", "processes")
        local pongs = process.listen("pong")
        local rounds = messages // 2
        local sent, received = 0, 0
        for i = 1, window do sent = sent + 1; process.send(peer, "ping", sent) end
        while received < rounds do
          pongs:receive()
          received = received + 1
          if sent < rounds then sent = sent + 1; process.send(peer, "ping", sent) end
        end
        return received * 2
      end }
  - name: ping_in_one_engine
    kind: process.lua
    source: |
      return { main = function(messages, window)
        return process.exec("ping", "processes", messages, window)
      end }
  - name: noop
    kind: function.lua
    source: "return { main = function(x) return x end }"
  - name: caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(n)
        for i = 1, n do funcs.call("noop", i) end
      end }
`;

const SPAWNS = 10_000;
const IDLE = 10_000;
const MESSAGES = 200_000;
const WINDOW = 100;
const CALLS = 2_000;
const ROUNDS = 5;

/**
 * Spawn cost, idle memory, local ping-pong and function calls (issue 3), with baselines; the
 * ping-pong also against a toy scheduler inside the engine, the floor issue 12 aims at.
 */
export const actors: Benchmark = {
  name: 'lua actors',
  async run() {
    // Memory first, each in a fresh WebAssembly module: its memory only grows, so what an
    // earlier figure allocated would hide what this one needs.
    const bareCoroutine = await bareCoroutineCost(IDLE);
    const idle = await withNode((node) => idleProcessBytes(node));
    const { node, close } = await benchNode(APP);
    try {
      const bareCall = await bareLuaCallMicros(ROUNDS, 100_000);
      const spawn = await perSpawnMicros(node);
      const pingPong = await pingPongRate(node, 'bench:ping');
      const pingPongOneEngine = await pingPongRate(node, 'bench:ping_in_one_engine');
      const channelRate = median(
        await Promise.all([0, 0, 0].map(() => messageChannelRate(MESSAGES, WINDOW))),
      );
      const call = await callMicros(node);
      const toyRate = await toySchedulerRate(MESSAGES, WINDOW);
      const resumeYield = await resumeYieldMicros(ROUNDS, 100_000);
      const figures: Figure[] = [
        {
          figure: `spawn + run to end, ${SPAWNS / 1000}k processes`,
          median: spawn,
          unit: 'µs/process',
          baseline: 'bare wasmoon call',
          baselineMedian: bareCall,
          durability: 'n/a (no journal)',
        },
        {
          figure: `idle process (blocked in receive), ${IDLE / 1000}k`,
          median: idle.rss / 1024,
          unit: 'KiB RSS/process',
          baseline: 'bare suspended coroutine',
          baselineMedian: bareCoroutine.rss / 1024,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'idle process, Lua heap only',
          median: idle.heap / 1024,
          unit: 'KiB heap/process',
          baseline: 'bare suspended coroutine',
          baselineMedian: bareCoroutine.heap / 1024,
          durability: 'n/a (no journal)',
        },
        {
          figure: `local ping-pong across two engines, window ${WINDOW}`,
          median: pingPong / 1000,
          unit: 'k msgs/s',
          baseline: 'JS MessageChannel ping-pong',
          baselineMedian: channelRate / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: `local ping-pong in one engine, window ${WINDOW}, against the engine's floor`,
          median: pingPongOneEngine / 1000,
          unit: 'k msgs/s',
          baseline: 'toy run-queue scheduler in Lua, same wasm build',
          baselineMedian: toyRate / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'resume + yield of a coroutine from TypeScript',
          median: resumeYield,
          unit: 'µs/step',
          baseline: 'bare wasmoon call',
          baselineMedian: bareCall,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'funcs.call round trip (Lua → function → Lua)',
          median: call,
          unit: 'µs/call',
          baseline: 'bare wasmoon call',
          baselineMedian: bareCall,
          durability: 'n/a (no journal)',
        },
      ];
      return figures;
    } finally {
      await close();
    }
  },
};

async function withNode<T>(use: (node: Node) => Promise<T>): Promise<T> {
  const { node, close } = await benchNode(APP);
  try {
    return await use(node);
  } finally {
    await close();
  }
}

async function waitUntil(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** Median over rounds of: a Lua process spawns 10k that return at once; µs per process until all ended. */
async function perSpawnMicros(node: Node): Promise<number> {
  const host = node.system.host('bench:processes');
  if (!host) throw new Error('no host');
  const samples: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const start = process.hrtime.bigint();
    const outcome = await node.run('bench:spawner', [SPAWNS]);
    if (!outcome.ok) throw outcome.error;
    await waitUntil(() => host.processes.size === 0);
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e3 / SPAWNS);
  }
  return median(samples);
}

/** RSS and Lua heap added per process by 10k processes blocked in receive (after GC). */
async function idleProcessBytes(node: Node): Promise<{ rss: number; heap: number }> {
  const host = node.system.host('bench:processes');
  if (!host) throw new Error('no host');
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = host.vm.heapBytes();
  const outcome = await node.run('bench:spawn_idle', [IDLE]);
  if (!outcome.ok) throw outcome.error;
  await waitUntil(() => host.vm.readyCount === 0 && host.processes.size === IDLE);
  gc();
  const rss = (process.memoryUsage().rss - rssBefore) / IDLE;
  const heap = (host.vm.heapBytes() - heapBefore) / IDLE;
  for (const process_ of [...host.processes.values()])
    node.system.kill(process_, new LuactError('CANCELED', 'benchmark done'));
  await waitUntil(() => host.processes.size === 0);
  return { rss, heap };
}

/**
 * Messages per second of a windowed ping-pong: `entry` is bench:ping (run on the node's main
 * host, its ponger on bench:processes: two engines) or one that runs ping on bench:processes
 * too (one engine, the case in-engine message passing speeds up).
 */
async function pingPongRate(node: Node, entry: string): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round <= 3; round++) {
    const start = process.hrtime.bigint();
    const outcome = await node.run(entry, [MESSAGES, WINDOW]);
    if (!outcome.ok) throw outcome.error;
    if (round > 0)
      samples.push((outcome.value as number) / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return median(samples);
}

async function callMicros(node: Node): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const start = process.hrtime.bigint();
    const outcome = await node.run('bench:caller', [CALLS]);
    if (!outcome.ok) throw outcome.error;
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e3 / CALLS);
  }
  return median(samples);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
