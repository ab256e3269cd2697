import { LuactError } from '@luact/core';
import type { Node } from '@luact/runtime';
import { alternateSamples, type Benchmark, type Figure, median } from '../harness.js';
import { benchNode } from './lua-app.js';
import { threadTransportRate } from './thread-transport.js';

/**
 * `workers: 2` against `workers: 1` in one node: two independent ping-pong pairs (each pinger
 * spawns its ponger on its own worker, so each pair stays in one engine), and one pair whose
 * ends are on different workers (every message crosses threads), against the same pair in one
 * engine. Rounds alternate between the subject and its baseline.
 */
const APP = `
namespace: bench
entries:
  - name: solo
    kind: process.host
  - name: duo
    kind: process.host
    host: { workers: 2 }
  - name: pong
    kind: process.lua
    source: |
      return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return end
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }
  # Ping-pong with a ponger: its own child (same host, so same worker) when given none.
  - name: ping
    kind: process.lua
    source: |
      return { main = function(messages, window, host, peer)
        peer = peer or process.spawn_linked("pong", host)
        local pongs = process.listen("pong")
        local rounds = messages // 2
        local sent, received = 0, 0
        for i = 1, window do sent = sent + 1; process.send(peer, "ping", sent) end
        while received < rounds do
          pongs:receive()
          received = received + 1
          if sent < rounds then sent = sent + 1; process.send(peer, "ping", sent) end
        end
        process.send(peer, "stop", true)
        return process.pid()
      end }
  # Runs pairs of ping-pong on host at once (from the main host: spread over the workers).
  - name: pairs
    kind: process.lua
    source: |
      return { main = function(pairs, messages, window, host)
        local events = process.events()
        local pids = {}
        for i = 1, pairs do pids[i] = process.spawn_monitored("ping", host, messages, window, host) end
        for _ = 1, pairs do
          local e = events:receive()
          if e.result.error then error(e.result.error) end
        end
        return pids
      end }
  # One pair whose ends are on different workers of host (spawned from the main host).
  - name: across
    kind: process.lua
    source: |
      local function worker(pid) return tonumber(pid:match("|(%d+)}")) % 2 end
      return { main = function(messages, window, host)
        local events = process.events()
        local ponger = process.spawn("pong", host)
        for _ = 1, 20 do
          local pinger = process.spawn_monitored("ping", host, messages, window, host, ponger)
          if worker(pinger) ~= worker(ponger) then
            local e = events:receive()
            if e.result.error then error(e.result.error) end
            return { pinger, ponger }
          end
          -- landed with its ponger: let it run to its end in one engine, and try again
          local e = events:receive()
          ponger = process.spawn("pong", host)
        end
        error("20 spawns landed on the ponger's worker")
      end }
`;

const PAIR_MESSAGES = 200_000;
const ACROSS_MESSAGES = 100_000;
const ACROSS_MESSAGES_WINDOW_1 = 10_000;
const WINDOW = 100;
const ROUNDS = 5;
const TRANSPORT_MESSAGES = 400_000;
const TRANSPORT_MESSAGES_WINDOW_1 = 20_000;

export const workers: Benchmark = {
  name: 'lua workers',
  async run() {
    const { node, close } = await benchNode(APP);
    try {
      const duoCores: number[] = [];
      const soloCores: number[] = [];
      const two = [2, PAIR_MESSAGES, WINDOW];
      const pairs = await alternate(
        () => rate(node, 'bench:pairs', [...two, 'bench:duo'], 2 * PAIR_MESSAGES, duoCores),
        () => rate(node, 'bench:pairs', [...two, 'bench:solo'], 2 * PAIR_MESSAGES, soloCores),
      );
      const onePair = await alternate(
        () => rate(node, 'bench:pairs', [1, PAIR_MESSAGES, WINDOW, 'bench:duo'], PAIR_MESSAGES),
        () => rate(node, 'bench:pairs', [1, PAIR_MESSAGES, WINDOW, 'bench:solo'], PAIR_MESSAGES),
      );
      const across = await alternate(
        () => rate(node, 'bench:across', [ACROSS_MESSAGES, WINDOW, 'bench:duo'], ACROSS_MESSAGES),
        () =>
          rate(node, 'bench:pairs', [1, ACROSS_MESSAGES, WINDOW, 'bench:solo'], ACROSS_MESSAGES),
      );
      const across1 = await alternate(
        () =>
          rate(
            node,
            'bench:across',
            [ACROSS_MESSAGES_WINDOW_1, 1, 'bench:duo'],
            ACROSS_MESSAGES_WINDOW_1,
          ),
        () =>
          rate(
            node,
            'bench:pairs',
            [1, ACROSS_MESSAGES_WINDOW_1, 1, 'bench:solo'],
            ACROSS_MESSAGES_WINDOW_1,
          ),
      );
      // The floor under messages across threads, and the alternative to luact's transport.
      const transport = await alternate(
        () => threadTransportRate('ring', TRANSPORT_MESSAGES, WINDOW),
        () => threadTransportRate('port', TRANSPORT_MESSAGES, WINDOW),
      );
      const transport1 = await alternate(
        () => threadTransportRate('ring', TRANSPORT_MESSAGES_WINDOW_1, 1),
        () => threadTransportRate('port', TRANSPORT_MESSAGES_WINDOW_1, 1),
      );
      const figure = (
        name: string,
        baseline: string,
        medians: { subject: number; baseline: number },
      ): Figure => ({
        figure: name,
        median: medians.subject,
        unit: 'msg/s',
        baseline,
        baselineMedian: medians.baseline,
        durability: 'n/a',
      });
      return [
        figure(
          `two ping-pong pairs at once, window ${WINDOW}, workers: 2`,
          'the same two pairs on a workers: 1 host',
          pairs,
        ),
        {
          // The untimed first run of each is left out.
          figure: 'CPU the two pairs used, workers: 2 (all threads, per second of wall time)',
          median: median(duoCores.slice(1)),
          unit: 'cores',
          baseline: 'the same two pairs on a workers: 1 host',
          baselineMedian: median(soloCores.slice(1)),
          durability: 'n/a',
        },
        figure(
          `one ping-pong pair in one engine of a worker thread, window ${WINDOW}`,
          'the same pair on the main thread (workers: 1 host)',
          onePair,
        ),
        figure(
          `ping-pong across two workers, window ${WINDOW}`,
          'one pair in one engine (workers: 1 host)',
          across,
        ),
        figure(
          'ping-pong across two workers, window 1',
          'one pair in one engine (workers: 1 host), window 1',
          across1,
        ),
        figure(
          `JS ping-pong between two threads over a SharedArrayBuffer ring, window ${WINDOW}`,
          "the same over a MessagePort, batches transferred (luact's transport)",
          transport,
        ),
        figure(
          'JS ping-pong between two threads over a SharedArrayBuffer ring, window 1',
          "the same over a MessagePort, batches transferred (luact's transport)",
          transport1,
        ),
      ];
    } finally {
      await close();
    }
  },
};

/**
 * Messages per second of one run of `entry` on the main host; `cores` gets the CPU time all
 * of this process's threads used per second of it.
 */
async function rate(
  node: Node,
  entry: string,
  args: unknown[],
  messages: number,
  cores?: number[],
): Promise<number> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const outcome = await node.run(entry, args);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  cores?.push((used.user + used.system) / 1e6 / seconds);
  if (!outcome.ok) throw new LuactError('INTERNAL', `${entry}: ${outcome.error.message}`);
  return messages / seconds;
}

/** One untimed run of each, then ROUNDS alternating rounds (each round's ratio printed); the medians. */
async function alternate(
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ subject: number; baseline: number }> {
  const [subjects, baselines] = await alternateSamples([subject, baseline], {
    warmup: 1,
    rounds: ROUNDS,
  });
  const rounds = subjects.map(
    (s, i) => `${(s / 1000).toFixed(0)}k/${((baselines[i] ?? 0) / 1000).toFixed(0)}k`,
  );
  const ratios = subjects.map((s, i) => s / (baselines[i] ?? Number.NaN));
  process.stderr.write(
    `  rounds: ${rounds.join(' ')}; ratio median ${median(ratios).toFixed(2)}\n`,
  );
  return { subject: median(subjects), baseline: median(baselines) };
}
