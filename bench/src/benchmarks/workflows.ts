import { execFile } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FileJournal } from '@luact/journal';
import { encodeValues } from '@luact/lua';
import { Node } from '@luact/runtime';
import { type NatsServerHandle, runUntilKilled, startNatsServer } from '@luact/testkit';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Benchmark, Figure } from '../harness.js';
import { median } from '../harness.js';
import { THREE_STEP_ENTRIES } from './three-steps.js';

const run = promisify(execFile);

const LATENCY_RUNS = 300;
const WARMUP = 200;
const THROUGHPUT_WORKFLOWS = 2_000;
/** Long enough that the replay, not the node's boot (subtracted, ~0.1 s), is what is timed. */
const REPLAY_ACTIVITIES = 50_000;
const REPLAY_ROUNDS = 5;
const RECOVERED_WORKFLOWS = 10_000;
const WRITER = fileURLToPath(new URL('./recovery-writer.ts', import.meta.url));
const REPLAY_ROUNDS_CHILD = fileURLToPath(new URL('./replay-rounds.ts', import.meta.url));
const FINISHED_MEMORY_CHILD = fileURLToPath(new URL('./finished-memory.ts', import.meta.url));
const MEMORY_WORKFLOWS = 10_000;

/** Hosts of each journal the benchmark compares, and the 3-step workflow they run. */
const APP = `namespace: bench
entries:
  - name: never
    kind: workflow.host
    journal: { fsync: never }
  - name: batch
    kind: workflow.host
    journal: { fsync: batch }
  - name: always
    kind: workflow.host
    journal: { fsync: always }
${THREE_STEP_ENTRIES}  - name: many_steps
    kind: workflow.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(n)
        for i = 1, n do funcs.call("bench:step", i) end
        return process.listen("finish"):receive()
      end }
  - name: waiter
    kind: workflow.lua
    source: |
      return { main = function(x)
        return process.listen("finish"):receive()
      end }
`;

const JETSTREAM_APP = `${APP}  - name: nats
    kind: nats.connection
    servers: \${env:BENCH_NATS_URL}
  - name: jetstream
    kind: workflow.host
    connection: nats
    journal: { replicas: 1 }
`;

/**
 * Durable workflows (issue 5): a 3-step workflow's start→result latency and throughput on the
 * file journal (each fsync policy) and JetStream R1, replay speed, and recovery of 1,000
 * in-flight workflows — each against a raw append of the same store measured in this run.
 */
export const workflows: Benchmark = {
  name: 'workflows',
  async run() {
    const nats = await startNatsServer();
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-wf-'));
    try {
      await writeFile(path.join(dir, 'app.yaml'), JETSTREAM_APP);
      const env = { BENCH_NATS_URL: nats.url };
      const figures: Figure[] = [];
      const node = await Node.start({ dir, env, print: () => {} });
      try {
        const raw = rawFileAppend(dir);
        const publish = await rawPublishAck(nats);
        for (const [host, durability, baseline, baselineName] of [
          ['bench:never', 'file, fsync=never', raw.write, 'raw file append (write)'],
          ['bench:batch', 'file, fsync=batch (100 ms)', raw.write, 'raw file append (write)'],
          ['bench:always', 'file, fsync=always', raw.writeSync, 'raw file append + fdatasync'],
          ['bench:jetstream', 'JetStream R1, file storage', publish, 'raw JetStream publish-ack'],
        ] as const) {
          const latency = await latencies(node, host);
          figures.push(
            {
              figure: `3-step workflow start→result p50 (${host})`,
              median: latency.p50,
              unit: 'ms',
              baseline: baselineName,
              baselineMedian: baseline,
              durability,
            },
            {
              figure: `3-step workflow start→result p99 (${host})`,
              median: latency.p99,
              unit: 'ms',
              baseline: baselineName,
              baselineMedian: baseline,
              durability,
            },
          );
          const load = await throughput(node, host);
          figures.push(
            {
              figure: `3-step workflows, ${THROUGHPUT_WORKFLOWS} at once (${host})`,
              median: load.perSecond,
              unit: 'workflows/s',
              baseline: `1 / ${baselineName}`,
              baselineMedian: 1000 / baseline,
              durability,
            },
            {
              figure: `CPU per workflow, ${THROUGHPUT_WORKFLOWS} at once (${host})`,
              median: load.cpuMs,
              unit: 'ms',
              baseline: baselineName,
              baselineMedian: baseline,
              durability,
            },
          );
          if (load.syncs !== undefined) {
            figures.push({
              figure: `fsync calls per workflow, ${THROUGHPUT_WORKFLOWS} at once (${host})`,
              median: load.syncs,
              unit: 'syncs',
              baseline: 'one per log frame (unbatched)',
              baselineMedian: load.frames,
              durability,
            });
          }
        }
      } finally {
        await node.stop();
      }
      figures.push(...(await replaySpeed(dir, env)));
      figures.push(await recoveryTime(dir, env));
      figures.push(await finishedMemory());
      return figures;
    } finally {
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** p50 and p99 in ms of one 3-step workflow, start to result, run one after another. */
async function latencies(node: Node, hostId: string): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + LATENCY_RUNS; i++) {
    const start = process.hrtime.bigint();
    await runThreeSteps(node, hostId, i);
    if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: samples[Math.floor(samples.length * 0.5)] ?? Number.NaN,
    p99: samples[Math.floor(samples.length * 0.99)] ?? Number.NaN,
  };
}

async function runThreeSteps(node: Node, hostId: string, x: number): Promise<void> {
  const host = node.workflows.host(hostId);
  if (!host) throw new Error(`no host ${hostId}`);
  const pid = await host.start({
    entry: 'bench:three_steps',
    args: encodeValues([x]),
    context: {},
    messages: [],
    conflict: 'use_existing',
  });
  const outcome = await new Promise<{ ok: boolean }>((resolve, reject) => {
    host.watchWorkflow(pid, resolve).catch(reject);
  });
  if (!outcome.ok) throw new Error('the 3-step workflow failed');
}

interface Load {
  readonly perSecond: number;
  /** CPU time of the whole process per workflow. */
  readonly cpuMs: number;
  /** fdatasync/fsync calls per workflow, for a journal that counts them. */
  readonly syncs: number | undefined;
  /** Log frames written per workflow (the syncs an unbatched fsync=always would make). */
  readonly frames: number;
}

/** Completed 3-step workflows per second with all of them started at once. */
async function throughput(node: Node, hostId: string): Promise<Load> {
  const journal = node.workflows.host(hostId)?.journal as
    | { syncs?: number; frames?: number }
    | undefined;
  const syncsBefore = journal?.syncs;
  const framesBefore = journal?.frames ?? 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: THROUGHPUT_WORKFLOWS }, (_, i) => runThreeSteps(node, hostId, i)),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const syncsAfter = journal?.syncs;
  return {
    perSecond: THROUGHPUT_WORKFLOWS / seconds,
    cpuMs: (used.user + used.system) / 1000 / THROUGHPUT_WORKFLOWS,
    syncs:
      syncsBefore === undefined || syncsAfter === undefined
        ? undefined
        : (syncsAfter - syncsBefore) / THROUGHPUT_WORKFLOWS,
    frames: ((journal?.frames ?? 0) - framesBefore) / THROUGHPUT_WORKFLOWS,
  };
}

/**
 * Events replayed per second: a run of 100,002 events (50,000 activity results and
 * their tasks) is replayed by a fresh host, against reading the same journal without replaying
 * it.
 */
async function replaySpeed(dir: string, env: Record<string, string>): Promise<Figure[]> {
  // A state of its own: opening the journal reads the host's whole log, which would count the
  // other benchmarks' runs in too.
  const replayState = path.join(dir, 'replay-state');
  const node = await Node.start({ dir, env, print: () => {}, stateDir: replayState });
  const host = node.workflows.host('bench:never');
  if (!host) throw new Error('no host');
  await host.start({
    workflow: 'replayed',
    entry: 'bench:many_steps',
    args: encodeValues([REPLAY_ACTIVITIES]),
    context: {},
    messages: [],
    conflict: 'use_existing',
  });
  // The journal's listing has each stream's length without reading (decoding) the records.
  await until(
    async () =>
      ((await host.journal.list()).find((stream) => stream.id === 'replayed~1')?.length ?? 0) >=
      REPLAY_ACTIVITIES * 2 + 1,
    600_000,
  );
  await host.settled();
  const records = (await host.history('replayed')).length;
  const stateDir = path.join(replayState, 'journal', 'bench_never');
  const readStart = process.hrtime.bigint();
  const journal = await FileJournal.open({ dir: stateDir, fsync: 'never' });
  await journal.read('replayed~1');
  await journal.shutdown();
  const readSeconds = Number(process.hrtime.bigint() - readStart) / 1e9;
  // The node that wrote it stops; each round a fresh node on the same state replays it (in a
  // process of their own: see replay-rounds.ts). What the same node takes to boot without
  // that journal is subtracted. The first round runs the replay code cold (not yet compiled
  // by the JIT), as a node recovering after a crash does; the rounds after it show the
  // steady speed.
  await node.stop();
  const { stdout } = await run(
    process.execPath,
    [...process.execArgv, REPLAY_ROUNDS_CHILD, dir, replayState, `${1 + REPLAY_ROUNDS}`],
    { env: { ...process.env, ...env }, maxBuffer: 1 << 20 },
  );
  const { bootMs, replayMs } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
    bootMs: number[];
    replayMs: number[];
  };
  const samples = replayMs.map((ms) => records / ((ms - median(bootMs)) / 1000));
  const common = {
    unit: 'k events/s',
    baseline: 'reading the same journal',
    baselineMedian: records / readSeconds / 1000,
    durability: 'file, fsync=never',
  };
  return [
    {
      figure: `replay of a ${records}-record journal, first in a fresh process (node boot subtracted)`,
      median: (samples[0] as number) / 1000,
      ...common,
    },
    {
      figure: `replay of a ${records}-record journal, median of ${REPLAY_ROUNDS} after it`,
      median: median(samples.slice(1)) / 1000,
      ...common,
    },
  ];
}

/**
 * Heap a node keeps per finished workflow once its journal.retention removed it, against a host
 * that keeps them (in a process of its own: see finished-memory.ts).
 */
async function finishedMemory(): Promise<Figure> {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-memory-'));
  try {
    const { stdout } = await run(
      process.execPath,
      [...process.execArgv, FINISHED_MEMORY_CHILD, dir, `${MEMORY_WORKFLOWS}`],
      { maxBuffer: 1 << 20 },
    );
    const { keptBytes, expiredBytes } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
      keptBytes: number;
      expiredBytes: number;
    };
    return {
      figure: `heap kept per finished 3-step workflow after journal.retention (1 s) removed it, ${MEMORY_WORKFLOWS} workflows`,
      median: expiredBytes,
      unit: 'B',
      baseline: 'a host without retention (keeps every finished run)',
      baselineMedian: keptBytes,
      durability: 'file, fsync=never',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Time for a node to resume 10,000 workflows waiting for a message after the node that ran
 * them was killed with SIGKILL (in a child process), against reading their journals.
 */
async function recoveryTime(dir: string, env: Record<string, string>): Promise<Figure> {
  const stateDir = path.join(dir, 'recovery-state');
  await killedWhileRunning(dir, stateDir, RECOVERED_WORKFLOWS, env);

  const journalDir = path.join(stateDir, 'journal', 'bench_batch');
  const readStart = process.hrtime.bigint();
  const journal = await FileJournal.open({ dir: journalDir, fsync: 'never' });
  for (const stream of await journal.open()) await journal.read(stream);
  await journal.shutdown();
  const readMs = Number(process.hrtime.bigint() - readStart) / 1e6;

  const start = process.hrtime.bigint();
  const second = await Node.start({ dir, env, print: () => {}, stateDir });
  try {
    await until(
      () =>
        second.workflows.list().filter((w) => w.status === 'running').length ===
        RECOVERED_WORKFLOWS,
    );
    return {
      figure: `recovery of ${RECOVERED_WORKFLOWS} in-flight workflows after SIGKILL`,
      median: Number(process.hrtime.bigint() - start) / 1e6,
      unit: 'ms',
      baseline: 'reading their journals',
      baselineMedian: readMs,
      durability: 'file, fsync=batch (100 ms)',
    };
  } finally {
    await second.stop();
  }
}

/** Runs recovery-writer.ts in a child process until its workflows wait, then SIGKILLs it. */
function killedWhileRunning(
  dir: string,
  stateDir: string,
  count: number,
  env: Record<string, string>,
): Promise<void> {
  return runUntilKilled({
    args: [...process.execArgv, WRITER, dir, stateDir, `${count}`],
    cwd: process.cwd(),
    killAfterMs: 0,
    name: 'the recovery writer',
    env: { ...process.env, ...env },
    readyWithinMs: 300_000,
  });
}

/** Median ms of appending one ~200-byte record to a file: written, and written + fdatasync. */
function rawFileAppend(dir: string): { write: number; writeSync: number } {
  const file = path.join(dir, 'raw-append');
  const fd = openSync(file, 'a');
  const record = Buffer.alloc(200, 7);
  const measure = (sync: boolean) => {
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = process.hrtime.bigint();
      writeSync(fd, record);
      if (sync) fdatasyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return median(samples);
  };
  try {
    return { write: measure(false), writeSync: measure(true) };
  } finally {
    closeSync(fd);
  }
}

/** Median ms of one JetStream publish with its ack, R1, file storage, one after another. */
async function rawPublishAck(nats: NatsServerHandle): Promise<number> {
  const connection = await connect({ servers: nats.url });
  try {
    const js = jetstream(connection);
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const manager = await jetstreamManager(connection);
    await manager.streams.add({ name: 'RAW', subjects: ['raw.>'] });
    const payload = new Uint8Array(200);
    const samples: number[] = [];
    for (let i = 0; i < 500; i++) {
      const start = process.hrtime.bigint();
      await js.publish('raw.one', payload);
      if (i >= 50) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return median(samples);
  } finally {
    await connection.close();
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
