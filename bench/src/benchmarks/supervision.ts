import type { LogRecord } from '@luact/lua';
import type { Pid } from '@luact/process';
import type { Node } from '@luact/runtime';
import { type Benchmark, type Figure, median } from '../harness.js';
import { benchNode } from './lua-app.js';

/** Services in LAYERS layers of WIDTH; each service requires every service of the layer below. */
const LAYERS = 5;
const WIDTH = 20;
const SERVICES = LAYERS * WIDTH;
const RESTARTS = 200;
const ROUNDS = 7;

/** A worker that blocks until CANCEL (returns) or any message (raises). */
const WORKER = `
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function(name)
        if name then process.registry.register(name) end
        local inbox, events = process.inbox(), process.events()
        while true do
          local ready = channel.select({ inbox:case_receive(), events:case_receive() })
          if ready.channel == events then
            if ready.value.kind == process.event.CANCEL then return end
          else
            error("asked to crash")
          end
        end
      end }
`;

function layeredApp(): string {
  const services: string[] = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    const below = Array.from({ length: layer === 0 ? 0 : WIDTH }, (_, i) => `s${layer - 1}_${i}`);
    for (let i = 0; i < WIDTH; i++) {
      services.push(`  - name: s${layer}_${i}
    kind: process.service
    process: worker
    host: processes
    lifecycle: { auto_start: true, requires: [${below.join(', ')}] }`);
    }
  }
  return `namespace: bench\nentries:\n${WORKER}\n${services.join('\n')}\n`;
}

const CRASHY_APP = `namespace: bench
entries:
${WORKER}
  - name: crashy
    kind: process.service
    process: worker
    host: processes
    input: [crashy]
    lifecycle:
      stable_threshold: 1h
      restart: { initial_delay: 0s, jitter: 0, max_attempts: 0 }
`;

/** Supervision overhead (issue 4): dependency-ordered start and stop, and restart after a crash. */
export const supervision: Benchmark = {
  name: 'supervision',
  async run() {
    const ordered = await orderedStartStop();
    const restart = await restartMicros();
    const figure = (name: string, value: number, baseline: string, base: number): Figure => ({
      figure: name,
      median: value,
      unit: 'µs/service',
      baseline,
      baselineMedian: base,
      durability: 'n/a (no journal)',
    });
    return [
      figure(
        `start ${SERVICES} services in ${LAYERS} dependent layers`,
        ordered.start,
        'spawn the processes until each blocks',
        ordered.bareStart,
      ),
      figure(
        `stop ${SERVICES} services, dependents first`,
        ordered.stop,
        'cancel the processes until each ends',
        ordered.bareStop,
      ),
      figure(
        'restart of a crashed service (initial_delay 0)',
        restart.restart,
        'by hand: crash, on exit spawn until it blocks',
        restart.byHand,
      ),
    ];
  },
};

/** Per service: starting and stopping all layers, against as many bare processes. */
async function orderedStartStop() {
  const { node, close } = await benchNode(layeredApp());
  try {
    const samples = {
      start: [] as number[],
      stop: [] as number[],
      bareStart: [] as number[],
      bareStop: [] as number[],
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const bare = await bareStartStop(node, SERVICES);
      let start = process.hrtime.bigint();
      const started = await node.startServices();
      const startUs = Number(process.hrtime.bigint() - start) / 1e3;
      if (started.some((status) => status.state !== 'running'))
        throw new Error('a service did not start');
      start = process.hrtime.bigint();
      const stopped = await node.services.stop();
      const stopUs = Number(process.hrtime.bigint() - start) / 1e3;
      if (stopped.terminated.length > 0) throw new Error('a service had to be terminated');
      if (round === 0) continue;
      samples.start.push(startUs / SERVICES);
      samples.stop.push(stopUs / SERVICES);
      samples.bareStart.push(bare.start / SERVICES);
      samples.bareStop.push(bare.stop / SERVICES);
    }
    return {
      start: median(samples.start),
      stop: median(samples.stop),
      bareStart: median(samples.bareStart),
      bareStop: median(samples.bareStop),
    };
  } finally {
    await close();
  }
}

/** Microseconds to spawn `count` workers until all block, and to cancel them until all end. */
async function bareStartStop(node: Node, count: number): Promise<{ start: number; stop: number }> {
  let start = process.hrtime.bigint();
  const pids = await Promise.all(Array.from({ length: count }, () => spawnReady(node)));
  const startUs = Number(process.hrtime.bigint() - start) / 1e3;
  start = process.hrtime.bigint();
  await Promise.all(
    pids.map((pid) => {
      const exit = node.system.waitForExit(pid);
      node.system.signal({
        kind: 'cancel',
        to: pid,
        from: undefined,
        at: node.system.clock.now(),
        reason: 'done',
      });
      return exit;
    }),
  );
  return { start: startUs, stop: Number(process.hrtime.bigint() - start) / 1e3 };
}

/**
 * Median microseconds from a crash to the service running again, against the same done by
 * hand: crash a bare process, and on its exit spawn another until it blocks.
 */
async function restartMicros() {
  let onRunning: (() => void) | undefined;
  const log = (record: LogRecord) => {
    if (record.message === 'service state' && record.fields.state === 'running') onRunning?.();
  };
  const { node, close } = await benchNode(CRASHY_APP, { log });
  const running = () => new Promise<void>((resolve) => (onRunning = resolve));
  try {
    const up = running();
    await node.startServices(['bench:crashy']);
    await up;
    let bare = await spawnReady(node);
    const restarts: number[] = [];
    const byHand: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const again = running();
      let start = process.hrtime.bigint();
      await node.send('crashy', 'crash');
      await again;
      restarts.push(Number(process.hrtime.bigint() - start) / 1e3);

      start = process.hrtime.bigint();
      const exit = node.system.waitForExit(bare);
      await node.send(bare, 'crash');
      await exit;
      bare = await spawnReady(node);
      byHand.push(Number(process.hrtime.bigint() - start) / 1e3);
    }
    if (node.services.status('bench:crashy')?.attempts !== RESTARTS)
      throw new Error('restarts were not counted');
    return { restart: median(restarts.slice(20)), byHand: median(byHand.slice(20)) };
  } finally {
    await close();
  }
}

/** Spawns a worker and resolves its PID once it blocks. */
async function spawnReady(node: Node): Promise<Pid> {
  const pid = await node.spawn('bench:worker', [], 'bench:processes');
  await new Promise<void>((resolve) => node.system.process(pid)?.whenReady(resolve));
  return pid;
}
