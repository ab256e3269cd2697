import { LuactError } from '@luact/core';
import { EngineMemory, type LuaApi, LuaHeap, LuaStatus, loadLuaApi, WasmMemory } from '@luact/lua';
import type { Node } from '@luact/runtime';
import { type Benchmark, compareMs, type Figure } from '../harness.js';
import { benchNode } from './lua-app.js';

/**
 * Issue 8: what a neighbour that never blocks adds to the latency of a process that sleeps
 * (item 5, time slices), and what accounting memory at every allocation costs (item 7).
 */

const APP = `
namespace: bench
entries:
  - name: processes
    kind: process.host
  - name: witness
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(n)
        local late = {}
        for i = 1, n do
          local before = time.now():unix_nano()
          time.sleep("10ms")
          late[i] = (time.now():unix_nano() - before - 10000000) / 1e6
        end
        return late
      end }
  - name: neighbour
    kind: process.lua
    source: |
      local work = {
        spin = function() while true do end end,
        big_reps = function() while true do local _ = string.rep("x", 8 << 20) end end,
        caught_errors = function() while true do pcall(error, "x") end end,
        big_concats = function()
          local s = string.rep("x", 4 << 20)
          while true do local _ = s .. "y" end
        end,
      }
      return { main = function(kind) work[kind]() end }
`;

const SLEEPS = 300;
const NEIGHBOURS = ['spin', 'big_reps', 'caught_errors', 'big_concats'] as const;

export const isolation: Benchmark = {
  name: 'isolation',
  async run() {
    const figures: Figure[] = [];
    const { node, close } = await benchNode(APP);
    try {
      const alone = await lateness(node, undefined);
      for (const kind of NEIGHBOURS) {
        const beside = await lateness(node, kind);
        figures.push({
          figure: `10 ms sleep, p99 lateness beside a neighbour: ${kind.replace('_', ' ')}`,
          median: beside.p99,
          unit: 'ms',
          baseline: 'p99 lateness alone',
          baselineMedian: alone.p99,
          durability: 'n/a (no journal)',
        });
      }
      figures.push({
        figure: '10 ms sleep, p50 lateness beside a spinning neighbour',
        median: (await lateness(node, 'spin')).p50,
        unit: 'ms',
        baseline: 'p50 lateness alone',
        baselineMedian: alone.p50,
        durability: 'n/a (no journal)',
      });
    } finally {
      await close();
    }
    figures.push(await accountingCost());
    return figures;
  },
};

/** How late a process's 10 ms sleeps end (p50, p99 in ms), with `kind` of neighbour running. */
async function lateness(
  node: Node,
  kind: (typeof NEIGHBOURS)[number] | undefined,
): Promise<{ p50: number; p99: number }> {
  const neighbour = kind === undefined ? undefined : await node.spawn('bench:neighbour', [kind]);
  try {
    const outcome = await node.run('bench:witness', [SLEEPS]);
    if (!outcome.ok) throw outcome.error;
    const late = [...(outcome.value as number[])].sort((a, b) => a - b);
    const at = (q: number) => late[Math.min(late.length - 1, Math.floor(q * late.length))] ?? 0;
    return { p50: at(0.5), p99: at(0.99) };
  } finally {
    if (neighbour !== undefined) {
      const process_ = node.system.process(neighbour);
      if (process_) node.system.kill(process_, new LuactError('CANCELED', 'benchmark done'));
    }
  }
}

/** Allocation-heavy Lua: a million small tables and 200k strings, some kept, most garbage. */
const ALLOCATING = `
local n, keep = 0, {}
for i = 1, 1000000 do local t = { i, i + 1 }; n = n + #t end
for i = 1, 200000 do keep[i % 1000 + 1] = "k" .. i end
local words = {}
for i = 1, 100000 do words[i] = tostring(i) end
return n + #table.concat(words, ",")`;

/**
 * The same allocation-heavy chunk on a bare state with the engine's own allocator and on one
 * whose every allocation goes through the accounting LuaHeap (no limit reached).
 */
async function accountingCost(): Promise<Figure> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const runOn = (L: number) => {
    api._luaL_openlibs(L);
    if (memory.loadChunk(L, ALLOCATING, '=bench') !== LuaStatus.ok) throw new Error('chunk');
    if (api._lua_pcallk(L, 0, 1, 0, 0, 0) !== LuaStatus.ok)
      throw new Error(memory.toString(L, -1) ?? 'error');
    api._lua_close(L);
  };
  const heap = new LuaHeap(api, {
    hostLimit: 1 << 30,
    processLimit: 1 << 30,
    engine: new EngineMemory(1 << 30),
    onLargeAllocation: () => false,
    onPressure: () => {},
  });
  const { subject, baseline } = await compareMs(
    () => {
      const L = api._lua_newstate(heap.allocator, 0);
      heap.owner = heap.openSlot();
      heap.refusable = true;
      runOn(L);
      heap.closeSlot(heap.owner);
    },
    () => runOn(api._luaL_newstate()),
    { warmup: 1, rounds: 7 },
  );
  heap.dispose();
  return {
    figure: 'allocation-heavy Lua (1M tables, 300k strings), memory accounted per process',
    median: subject,
    unit: 'ms',
    baseline: "the engine's own allocator",
    baselineMedian: baseline,
    durability: 'n/a (no journal)',
  };
}
