import type { Node } from '@luact/runtime';
import { alternateMedians, type Benchmark, type Figure, median, type Rounds } from '../harness.js';
import {
  bareCoroutineSpawnMicros,
  bareLuaCallMicros,
  messageChannelRate,
  messageSemanticsRate,
  resumeYieldMicros,
  toyFanOutRate,
  toySchedulerRate,
} from './baselines.js';
import { idleMemory } from './idle-memory.js';
import { benchNode } from './lua-app.js';

const APP = `
namespace: bench
entries:
  - name: processes
    kind: process.host
    host: { max_processes: 200000, max_mailbox: 100000, max_memory: 1073741824 }
  - name: quick
    kind: process.lua
    source: "return { main = function() end }"
  - name: spawner
    kind: process.lua
    source: |
      return { main = function(n)
        for i = 1, n do process.spawn("quick", "processes") end
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
  - name: guarded_pong
    kind: process.lua
    source: |
      -- pong with each receive and reply inside a pcall: a process that keeps a failing
      -- message from ending it blocks inside the pcall at every receive.
      local function serve(inbox)
        local msg = inbox:receive()
        process.send(msg:from(), "pong", msg:payload():data())
      end
      return { main = function()
        local inbox = process.inbox()
        while true do pcall(serve, inbox) end
      end }
  - name: ping
    kind: process.lua
    source: |
      return { main = function(messages, window, ponger)
        local peer = process.spawn_linked(ponger or "pong", "processes")
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
  - name: replier
    kind: process.lua
    source: |
      return { main = function(hub, rounds)
        local inbox = process.inbox()
        process.send(hub, "ready")
        for _ = 1, rounds do
          local msg = inbox:receive()
          process.send(msg:from(), "reply", msg:payload():data())
        end
      end }
  - name: fan_out
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(receivers, rounds)
        local ready, replies = process.listen("ready"), process.listen("reply")
        local me = process.pid()
        local peers = {}
        for i = 1, receivers do peers[i] = process.spawn("replier", "processes", me, rounds) end
        for _ = 1, receivers do ready:receive() end
        local took = {}
        for round = 1, rounds do
          local start = time.now():unix_nano()
          for i = 1, receivers do process.send(peers[i], "go", i) end
          for _ = 1, receivers do replies:receive() end
          took[round] = time.now():unix_nano() - start
        end
        return took
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

const SPAWNS = 100_000;
const IDLE = 100_000;
const MEMORY_ROUNDS = 3;
const MESSAGES = 200_000;
const WINDOW = 100;
/** Window 1 waits for each answer: every message is a wake and a resume, so fewer of them. */
const MESSAGES_WINDOW_1 = 20_000;
const FAN_OUT = 10_000;
const FAN_OUT_ROUNDS = 4;
const CALLS = 2_000;
/**
 * Alternating rounds of each figure with its baselines. A round of 100k spawns takes a third of
 * a second, and the second round still runs some 10% slower than the later ones (the JIT and
 * the heaps settling): two warm-ups, and more rounds than the rest for a steady median.
 */
const ROUNDS: Rounds = { warmup: 1, rounds: 5 };
const SPAWN_ROUNDS: Rounds = { warmup: 2, rounds: 7 };

/**
 * Spawn cost, idle memory, local ping-pong, fan-out and function calls (issues 3 and 12), with
 * baselines; messages also against a toy scheduler inside the engine, the floor issue 12 aims at.
 */
export const actors: Benchmark = {
  name: 'lua actors',
  async run() {
    // Memory in processes of their own (see idleMemory).
    const bareCoroutine = await idleMemory('bare', IDLE, MEMORY_ROUNDS);
    const idle = await idleMemory('luact', IDLE, MEMORY_ROUNDS);
    const { node, close } = await benchNode(APP);
    try {
      // Each figure in the same rounds as its baselines, turn about (see alternateMedians).
      const [spawn, bareSpawn] = await alternateMedians(
        [() => spawnMicros(node), () => bareCoroutineSpawnMicros(1, SPAWNS)],
        SPAWN_ROUNDS,
      );
      const [pingPong, channelRate] = await alternateMedians(
        [
          () => pingPongRate(node, MAIN, MESSAGES, WINDOW),
          () => messageChannelRate(MESSAGES, WINDOW),
        ],
        ROUNDS,
      );
      const [pingPongOneEngine, toyRate, semanticsRate] = await alternateMedians(
        [
          () => pingPongRate(node, PROCESSES, MESSAGES, WINDOW),
          () => toySchedulerRate(MESSAGES, WINDOW),
          () => messageSemanticsRate(MESSAGES, WINDOW),
        ],
        ROUNDS,
      );
      const [pingPongWindow1, toyRateWindow1] = await alternateMedians(
        [
          () => pingPongRate(node, PROCESSES, MESSAGES_WINDOW_1, 1),
          () => toySchedulerRate(MESSAGES_WINDOW_1, 1),
        ],
        ROUNDS,
      );
      const [pingPongGuarded, pingPongUnguarded] = await alternateMedians(
        [
          () => pingPongRate(node, PROCESSES, MESSAGES_WINDOW_1, 1, 'guarded_pong'),
          () => pingPongRate(node, PROCESSES, MESSAGES_WINDOW_1, 1),
        ],
        ROUNDS,
      );
      const [fanOut, toyFanOut] = await alternateMedians(
        [() => fanOutRate(node), () => toyFanOutRate(FAN_OUT)],
        ROUNDS,
      );
      const [call, resumeYield, bareCall] = await alternateMedians(
        [
          () => callMicros(node),
          () => resumeYieldMicros(1, 100_000),
          () => bareLuaCallMicros(1, 100_000),
        ],
        ROUNDS,
      );
      const figures: Figure[] = [
        {
          figure: `spawn + run to end, ${SPAWNS / 1000}k processes`,
          median: spawn,
          unit: 'µs/process',
          baseline: 'coroutine create + resume + return, same wasm build',
          baselineMedian: bareSpawn,
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
          figure: `local ping-pong in one engine, window ${WINDOW}, against luact's message semantics`,
          median: pingPongOneEngine / 1000,
          unit: 'k msgs/s',
          baseline:
            'the toy with message objects, topics, PIDs and mailbox counts, same wasm build',
          baselineMedian: semanticsRate / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'the toy with luact message semantics, against the toy',
          median: semanticsRate / 1000,
          unit: 'k msgs/s',
          baseline: 'toy run-queue scheduler in Lua, same wasm build',
          baselineMedian: toyRate / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'local ping-pong in one engine, window 1',
          median: pingPongWindow1 / 1000,
          unit: 'k msgs/s',
          baseline: 'toy run-queue scheduler in Lua, window 1',
          baselineMedian: toyRateWindow1 / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'local ping-pong in one engine, window 1, the ponger receiving inside pcall',
          median: pingPongGuarded / 1000,
          unit: 'k msgs/s',
          baseline: 'the same without the pcall',
          baselineMedian: pingPongUnguarded / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: `fan-out 1 → ${FAN_OUT / 1000}k in one engine, each replies`,
          median: fanOut / 1000,
          unit: 'k replies/s',
          baseline: 'toy run-queue scheduler in Lua, same fan-out',
          baselineMedian: toyFanOut / 1000,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'resume + yield of a coroutine from TypeScript',
          median: resumeYield,
          unit: 'µs/step',
          baseline: 'bare Lua call from TypeScript',
          baselineMedian: bareCall,
          durability: 'n/a (no journal)',
        },
        {
          figure: 'funcs.call round trip (Lua → function → Lua)',
          median: call,
          unit: 'µs/call',
          baseline: 'bare Lua call from TypeScript',
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

async function waitUntil(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** Where `node.run` runs a process by default, and the bench's own host. */
const MAIN = 'luact:main';
const PROCESSES = 'bench:processes';

/** A Lua process spawns 100k that return at once: µs per process until all ended. */
async function spawnMicros(node: Node): Promise<number> {
  const host = node.system.host(PROCESSES);
  if (!host) throw new Error('no host');
  const start = process.hrtime.bigint();
  const outcome = await node.run('bench:spawner', [SPAWNS]);
  if (!outcome.ok) throw outcome.error;
  await waitUntil(() => host.processCount === 0);
  return Number(process.hrtime.bigint() - start) / 1e3 / SPAWNS;
}

/**
 * Messages per second of a windowed ping-pong: ping runs on `host`, its ponger (entry
 * `ponger`) on bench:processes; so on the node's main host that is two engines, on bench:processes one (the
 * case in-engine message passing speeds up).
 */
async function pingPongRate(
  node: Node,
  host: string,
  messages: number,
  window: number,
  ponger = 'pong',
): Promise<number> {
  const start = process.hrtime.bigint();
  const outcome = await node.run('bench:ping', [messages, window, ponger], { host });
  if (!outcome.ok) throw outcome.error;
  return (outcome.value as number) / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Replies per second of a fan-out in one engine: a process on bench:processes starts 10k
 * repliers there and waits until each has opened its inbox, then, per round, sends each one
 * message and takes the 10k replies (timed in Lua, first send to last reply); median of the
 * rounds after the first.
 */
async function fanOutRate(node: Node): Promise<number> {
  const outcome = await node.run('bench:fan_out', [FAN_OUT, FAN_OUT_ROUNDS], { host: PROCESSES });
  if (!outcome.ok) throw outcome.error;
  const took = outcome.value as number[];
  return median(took.slice(1).map((ns) => FAN_OUT / (ns / 1e9)));
}

/** µs per funcs.call of a process that makes CALLS of them. */
async function callMicros(node: Node): Promise<number> {
  const start = process.hrtime.bigint();
  const outcome = await node.run('bench:caller', [CALLS]);
  if (!outcome.ok) throw outcome.error;
  return Number(process.hrtime.bigint() - start) / 1e3 / CALLS;
}
