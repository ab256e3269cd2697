import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Benchmark, Figure } from '../harness.js';
import { median } from '../harness.js';

const ROUNDS = 1_000;
// Round trips before the measured ones: with 200, the nodes' JIT has not settled and the
// p50 comes out ~1.4× higher than in steady state (measured with 200, 3,000 and 5,000).
const WARMUP = 3_000;
const BURST = 2_000;
const KILLS = 10;
const GRACEFUL_STOPS = 5;

const CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../packages/cli/bin/luact.js',
);

/** What every figure here stores and how: the nats-server of this run, 2.9.10's defaults. */
const DURABILITY = 'JetStream R1, file storage (server fsync every 60 s)';

const APP = `namespace: bench
entries:
  - name: processes
    kind: process.host
    lifecycle: { auto_start: true }
  # The pinger's host on two worker threads: its mail to the other node goes through its
  # node's main thread, which alone holds the NATS connection.
  - name: workers
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
  # Round trips to a ponger on \`node\` one at a time (microseconds each, after \`warmup\`), then a
  # burst: \`burst\` pings sent before any pong is read, timed until the last pong.
  - name: ping
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(node, warmup, rounds, burst)
        local ponger = assert(process.with_options({ node = node }):spawn("bench:pong", "bench:processes"))
        local pongs = process.listen("pong")
        local samples = {}
        for i = 1, warmup + rounds do
          local started = time.now():unix_nano()
          assert(process.send(ponger, "ping", i))
          assert(pongs:receive() == i)
          if i > warmup then samples[#samples + 1] = (time.now():unix_nano() - started) // 1000 end
        end
        local started = time.now():unix_nano()
        for i = 1, burst do assert(process.send(ponger, "ping", -i)) end
        for i = 1, burst do assert(pongs:receive() == -i) end
        local burst_us = (time.now():unix_nano() - started) // 1000
        process.send(ponger, "stop")
        return { samples = samples, burst_us = burst_us }
      end }
  # Monitors a process on \`node\`, says "watching", and returns when its EXIT came (Unix ms).
  - name: watch
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(node)
        local there = process.with_options({ node = node })
        local pid = assert(there:spawn_monitored("bench:pong", "bench:processes"))
        process.send(pid, "ping", 0)
        process.listen("pong"):receive()
        print("watching")
        local event = process.events():receive()
        return { at_ms = time.now():unix_nano() // 1000000, error = tostring(event.result.error) }
      end }
`;

/**
 * The cluster (issue 10), two luact nodes as child processes on one nats-server: a cross-node
 * ping-pong's round trip (p50, p99) and burst throughput against raw NATS request/reply and raw
 * JetStream publish+consume between two clients of the same server; and how long after a
 * SIGKILL a watcher on the other node gets its EXIT, against a graceful stop.
 */
export const cluster: Benchmark = {
  name: 'cluster',
  async run() {
    const nats = await startNatsServer();
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-cluster-'));
    const nodes = new Set<ChildProcess>();
    try {
      await writeFile(path.join(dir, 'app.yaml'), APP);
      const start = (name: string, more: readonly string[] = []) => {
        const child = startNode(dir, nats, name, more);
        nodes.add(child);
        child.once('exit', () => nodes.delete(child));
        return child;
      };
      const figures: Figure[] = [];
      figures.push(...(await pingPong(nats, start)));
      figures.push(...(await nodeDown(start)));
      return figures;
    } finally {
      for (const child of nodes) child.kill('SIGKILL');
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

type StartNode = (name: string, more?: readonly string[]) => ChildProcess;

function startNode(
  dir: string,
  nats: NatsServerHandle,
  name: string,
  more: readonly string[],
): ChildProcess {
  return spawn(
    process.execPath,
    [
      CLI,
      'run',
      dir,
      '--nats',
      nats.url,
      '--node',
      name,
      '--control',
      path.join(dir, `${name}.sock`),
      ...more,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Resolves with the child's output once `text` appears in it; rejects if it ends first. */
function outputOf(child: ChildProcess, text: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => fail(new Error(`no "${text}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(text)) done(() => resolve(seen));
    };
    const onExit = () => fail(new Error(`node ended before "${text}":\n${seen.slice(-2000)}`));
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    const fail = (error: Error) => done(() => reject(error));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The value of the JSON result an --exec node prints, once it exited. */
async function execResult<T>(child: ChildProcess): Promise<T> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const line = stdout.split('\n').find((text) => text.startsWith('{"'));
  const result = line === undefined ? undefined : (JSON.parse(line) as { ok: boolean; value: T });
  if (code !== 0 || !result?.ok)
    throw new Error(`--exec failed (exit ${code}): ${stdout}\n${stderr.slice(-3000)}`);
  return result.value;
}

const joined = (child: ChildProcess) => outputOf(child, '"msg":"joined the cluster"');

async function pingPong(nats: NatsServerHandle, start: StartNode): Promise<Figure[]> {
  const b = start('pp-b');
  await joined(b);
  const ping = ['--exec', 'bench:ping', '"pp-b"', `${WARMUP}`, `${ROUNDS}`, `${BURST}`];
  const luact = await execResult<{ samples: number[]; burst_us: number }>(start('pp-a', ping));
  const onWorker = await execResult<{ samples: number[]; burst_us: number }>(
    start('pp-w', [...ping, '--host', 'bench:workers']),
  );
  b.kill('SIGTERM');
  const ms = luact.samples.map((us) => us / 1000).sort((x, y) => x - y);
  const workerMs = onWorker.samples.map((us) => us / 1000).sort((x, y) => x - y);

  const clients = await Promise.all([
    connect({ servers: nats.url }),
    connect({ servers: nats.url }),
  ]);
  try {
    const request = await requestReply(clients[0], clients[1]);
    const stream = await jetStreamPingPong(clients[0], clients[1]);
    const p = (sorted: readonly number[], q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
    const figures: Figure[] = [];
    for (const [q, label] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const) {
      figures.push(
        {
          figure: `cross-node ping-pong round trip ${label} (2 luact nodes)`,
          median: p(ms, q),
          unit: 'ms',
          baseline: `raw NATS request/reply ${label}`,
          baselineMedian: p(request.ms, q),
          durability: DURABILITY,
        },
        {
          figure: `cross-node ping-pong round trip ${label} (2 luact nodes)`,
          median: p(ms, q),
          unit: 'ms',
          baseline: `raw JetStream publish+consume round trip ${label}`,
          baselineMedian: p(stream.ms, q),
          durability: DURABILITY,
        },
      );
    }
    figures.push({
      figure: 'cross-node ping-pong round trip p50, the pinger on a worker thread',
      median: p(workerMs, 0.5),
      unit: 'ms',
      baseline: 'the same, the pinger on the main thread',
      baselineMedian: p(ms, 0.5),
      durability: DURABILITY,
    });
    const perSecond = BURST / (luact.burst_us / 1e6);
    figures.push(
      {
        figure: `cross-node ping-pong burst, ${BURST} pings then their pongs`,
        median: perSecond,
        unit: 'round trips/s',
        baseline: 'raw NATS requests, all in flight',
        baselineMedian: request.burstPerSecond,
        durability: DURABILITY,
      },
      {
        figure: `cross-node ping-pong burst, ${BURST} pings then their pongs`,
        median: perSecond,
        unit: 'round trips/s',
        baseline: 'raw JetStream publish (acked one by one) + consume, both ways',
        baselineMedian: stream.burstPerSecond,
        durability: DURABILITY,
      },
      {
        figure: `cross-node ping-pong burst, ${BURST} pings then their pongs, the pinger on a worker thread`,
        median: BURST / (onWorker.burst_us / 1e6),
        unit: 'round trips/s',
        baseline: 'the same, the pinger on the main thread',
        baselineMedian: perSecond,
        durability: DURABILITY,
      },
    );
    return figures;
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** Round trips in ms (sorted) and a burst's rate, of core NATS request/reply. */
async function requestReply(
  asker: NatsConnection,
  answerer: NatsConnection,
): Promise<{ ms: number[]; burstPerSecond: number }> {
  const subscription = answerer.subscribe('bench.echo', {
    callback: (_error, message) => {
      message.respond(message.data);
    },
  });
  await answerer.flush();
  const ms: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const started = process.hrtime.bigint();
    await asker.request('bench.echo', String(i), { timeout: 5_000 });
    if (i >= WARMUP) ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      asker.request('bench.echo', String(i), { timeout: 30_000 }),
    ),
  );
  const burstPerSecond = BURST / (Number(process.hrtime.bigint() - started) / 1e9);
  subscription.unsubscribe();
  return { ms: ms.sort((x, y) => x - y), burstPerSecond };
}

/**
 * A JetStream ping-pong between two clients: each publishes (awaiting the ack) to the other's
 * subject of one stream and consumes its own with a durable pull consumer, acknowledging each
 * message — what luact's mail does, without luact.
 */
async function jetStreamPingPong(
  a: NatsConnection,
  b: NatsConnection,
): Promise<{ ms: number[]; burstPerSecond: number }> {
  const jsm = await jetstreamManager(a);
  await jsm.streams.add({ name: 'BENCH_PINGPONG', subjects: ['bench.pp.*'] });
  for (const name of ['a', 'b'])
    await jsm.consumers.add('BENCH_PINGPONG', {
      durable_name: name,
      filter_subject: `bench.pp.${name}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 20_000,
    });
  const [jsA, jsB] = [jetstream(a), jetstream(b)];
  const inboxA = await (await jsA.consumers.get('BENCH_PINGPONG', 'a')).consume();
  const inboxB = await (await jsB.consumers.get('BENCH_PINGPONG', 'b')).consume();
  const answering = (async () => {
    for await (const message of inboxB) {
      message.ack();
      await jsB.publish('bench.pp.a', message.data);
    }
  })();
  const pongs = inboxA[Symbol.asyncIterator]();
  const nextPong = async () => {
    const next = await pongs.next();
    if (next.done) throw new Error('the JetStream consumer ended');
    next.value.ack();
  };
  try {
    const ms: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const started = process.hrtime.bigint();
      await jsA.publish('bench.pp.b', String(i));
      await nextPong();
      if (i >= WARMUP) ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const started = process.hrtime.bigint();
    for (let i = 0; i < BURST; i++) await jsA.publish('bench.pp.b', String(-i));
    for (let i = 0; i < BURST; i++) await nextPong();
    const burstPerSecond = BURST / (Number(process.hrtime.bigint() - started) / 1e9);
    return { ms: ms.sort((x, y) => x - y), burstPerSecond };
  } finally {
    inboxA.stop();
    inboxB.stop();
    await answering.catch(() => {});
    await jsm.streams.delete('BENCH_PINGPONG');
  }
}

/**
 * Node-down detection: a watcher on one node monitors a process on another; the other is
 * SIGKILLed ({@link KILLS} times) or stopped gracefully ({@link GRACEFUL_STOPS} times, the
 * baseline: its processes end and their EXITs travel as mail). Each figure is the median time
 * from the signal until the watcher had its EXIT.
 */
async function nodeDown(start: StartNode): Promise<Figure[]> {
  const measure = async (round: string, signal: 'SIGKILL' | 'SIGTERM') => {
    const watched = start(`down-${round}-b`);
    await joined(watched);
    const watcher = start(`down-${round}-a`, ['--exec', 'bench:watch', `"down-${round}-b"`]);
    const result = execResult<{ at_ms: number; error: string }>(watcher);
    await outputOf(watcher, 'watching');
    const signalledAt = Date.now();
    watched.kill(signal);
    const { at_ms: exitAt, error } = await result;
    if (signal === 'SIGKILL' && !error.includes('node down'))
      throw new Error(`the watcher's EXIT said "${error}", not node down`);
    return exitAt - signalledAt;
  };
  const killed: number[] = [];
  for (let i = 0; i < KILLS; i++) killed.push(await measure(`k${i}`, 'SIGKILL'));
  const stopped: number[] = [];
  for (let i = 0; i < GRACEFUL_STOPS; i++) stopped.push(await measure(`s${i}`, 'SIGTERM'));
  return [
    {
      figure: `node down: SIGKILL to the watcher's EXIT (median of ${KILLS})`,
      median: median(killed),
      unit: 'ms',
      baseline: `graceful stop (SIGTERM) to the watcher's EXIT (median of ${GRACEFUL_STOPS})`,
      baselineMedian: median(stopped),
      durability: DURABILITY,
    },
  ];
}
