import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import type { Benchmark, Figure } from '../harness.js';
import { median } from '../harness.js';
import { THREE_STEP_ENTRIES } from './three-steps.js';

/** Workflows in flight when a node is killed, and how many kills (fresh nodes each). */
const FAILOVER_WORKFLOWS = 1_000;
const KILLS = 3;
/** Workflows of the throughput runs, and the processes on the driving node that start them. */
const THROUGHPUT_WORKFLOWS = 2_000;
const STARTERS = 20;
/**
 * From the driving node's start to its first workflow start: time for the node to join and
 * for the partitions to be balanced over the nodes (a join moves at most 8 per view).
 */
const SETTLE_MS = 30_000;
/** From the first workflow start to the timers' due time: enough to start all of them. */
const START_BUDGET_MS = 40_000;
/** The node is killed this long before the timers are due, so the dead node's are due at once. */
const KILL_LEAD_MS = 500;
/** A driver that has not returned this long after it was started is taken as hung. */
const RUN_BOUND_MS = 300_000;

const CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../packages/cli/bin/luact.js',
);
const HOST = 'bench:flows';
const PARTITIONS = 64;

const DURABILITY =
  'JetStream R1, file storage (journals, mail and view; server fsync every 60 s on 2.9.10)';

const APP = `namespace: bench
entries:
  - name: processes
    kind: process.host
    lifecycle: { auto_start: true }
  - name: flows
    kind: workflow.host
  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.inbox():receive() end }

  # An activity that reports to \`collector\`: which step of workflow \`n\` ran, where and when.
  - name: mark
    kind: function.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(collector, n, step)
        local node = tostring(process.pid()):match("^{([^~@|]+)~")
        assert(process.send(collector, "step", { n = n, step = step, node = node,
          at_ms = time.now():unix_nano() // 1000000 }))
        return node
      end }

  # Step 1, "waiting" to \`collector\`, a durable timer until \`due_ms\` (Unix ms), step 2.
  - name: sleeper
    kind: workflow.lua
    modules: [funcs, time]
    source: |
      local funcs = require("funcs")
      local time = require("time")
      return { main = function(n, collector, due_ms)
        local node = assert(funcs.call("bench:mark", collector, n, 1))
        assert(process.send(collector, "waiting", { n = n, node = node }))
        local wait = due_ms - time.now():unix_nano() // 1000000
        if wait > 0 then time.sleep(wait .. "ms") end
        assert(funcs.call("bench:mark", collector, n, 2))
        return n
      end }

  # Monitors a process on \`victim\`; at \`start_ms\` starts \`count\` sleepers due at \`due_ms\`,
  # logs "waiting" once all ran step 1, and collects when the victim was declared down, the
  # last step 2 and the last end (Unix ms).
  - name: failover
    kind: process.lua
    modules: [logger, time]
    source: |
      local logger = require("logger")
      local time = require("time")
      local function now_ms() return time.now():unix_nano() // 1000000 end
      return { main = function(count, victim, start_ms, due_ms)
        local steps, waiting, events = process.listen("step"), process.listen("waiting"), process.events()
        local sentinel = assert(process.with_options({ node = victim }):spawn_monitored("bench:idle", "bench:processes"))
        if start_ms > now_ms() then time.sleep((start_ms - now_ms()) .. "ms") end
        for n = 1, count do
          assert(process.spawn_monitored("bench:sleeper", "bench:flows", n, process.pid(), due_ms))
        end
        local seen, on_victim, known = 0, 0, {}
        while seen < count do
          local report = waiting:receive()
          if not known[report.n] then
            known[report.n], seen = true, seen + 1
            if report.node == victim then on_victim = on_victim + 1 end
          end
        end
        logger.info("waiting", { on_victim = on_victim, at_ms = now_ms() })
        local down_ms, last_exit_ms, ended, failed = nil, 0, 0, 0
        while ended < count or down_ms == nil do
          local event = events:receive()
          if event.from == sentinel then down_ms = now_ms()
          else
            ended, last_exit_ms = ended + 1, now_ms()
            if event.result.error ~= nil then failed = failed + 1 end
          end
        end
        local stepped, last_step_ms = 0, 0
        while stepped < count do
          local report = steps:receive()
          if report.step == 2 then
            stepped, last_step_ms = stepped + 1, math.max(last_step_ms, report.at_ms)
          end
        end
        return { on_victim = on_victim, down_ms = down_ms, last_step_ms = last_step_ms,
          last_exit_ms = last_exit_ms, failed = failed }
      end }

${THREE_STEP_ENTRIES}  # Starts \`count\` three_steps and waits for their ends; tells \`parent\` how many failed.
  - name: starter
    kind: process.lua
    source: |
      return { main = function(parent, count)
        local events = process.events()
        for i = 1, count do assert(process.spawn_monitored("bench:three_steps", "bench:flows", i)) end
        local failed = 0
        for _ = 1, count do
          local event = events:receive()
          if event.result.error ~= nil or event.result.value == nil then failed = failed + 1 end
        end
        process.send(parent, "done", failed)
      end }
  # At \`start_ms\`, \`starters\` starters start \`count\` workflows in all; returns the time from
  # then until every one ended, in ms.
  - name: throughput
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      local function now_ms() return time.now():unix_nano() // 1000000 end
      return { main = function(count, starters, start_ms)
        if start_ms > now_ms() then time.sleep((start_ms - now_ms()) .. "ms") end
        local done, started = process.listen("done"), now_ms()
        for _ = 1, starters do
          assert(process.spawn("bench:starter", "bench:processes", process.pid(), count // starters))
        end
        local failed = 0
        for _ = 1, starters do failed = failed + done:receive() end
        return { ms = now_ms() - started, failed = failed }
      end }
`;

/**
 * Workflows across luact nodes (issue 10), each node a child process of the built CLI on one
 * nats-server: how long after a SIGKILL the 1,000 workflows in flight on three nodes all
 * progress again and all end (against the node-down detection inside that time), and
 * workflows/s with 1, 2 and 3 nodes.
 */
export const clusterWorkflows: Benchmark = {
  name: 'cluster-workflows',
  async run() {
    const nats = await startNatsServer();
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-cluster-wf-'));
    const nodes = new LuactNodes(dir, nats);
    try {
      await writeFile(path.join(dir, 'app.yaml'), APP);
      return [...(await failover(nodes)), ...(await throughput(nodes))];
    } catch (error) {
      const logs = await nodes.keepOutputs();
      throw new Error(`${(error as Error).message}\n(every node's output is in ${logs})`, {
        cause: error,
      });
    } finally {
      await nodes.killAll();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** A luact node child process: its output as it comes, its end. */
interface LuactNode {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** Resolves once a JSON log line has all of `fields`; rejects if the node ends first. */
  waitForLog(fields: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>>;
  /** The value an `--exec` node printed, once it ended; rejects when it failed. */
  result<T>(): Promise<T>;
}

/** The luact nodes of a run, each with its control socket and state directory in `dir`. */
class LuactNodes {
  private readonly running = new Set<LuactNode>();
  private readonly started: LuactNode[] = [];

  constructor(
    private readonly dir: string,
    private readonly nats: NatsServerHandle,
  ) {}

  /** `luact run` as `name`, joined once this resolves. */
  async serve(name: string): Promise<LuactNode> {
    const node = this.start(name, []);
    await node.waitForLog({ msg: 'joined the cluster' }, 60_000);
    return node;
  }

  /** `luact run --exec ENTRY ARGS…` as `name`, in the background. */
  exec(name: string, entry: string, args: readonly unknown[]): LuactNode {
    return this.start(name, [
      '--timeout',
      '0',
      '--exec',
      entry,
      ...args.map((arg) => JSON.stringify(arg)),
    ]);
  }

  async stop(...nodes: readonly LuactNode[]): Promise<void> {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => node.exited));
  }

  /** Writes every node's output so far to a directory of its own; returns its path. */
  async keepOutputs(): Promise<string> {
    const logs = await mkdtemp(path.join(tmpdir(), 'luact-bench-cluster-wf-logs-'));
    await Promise.all(
      [...this.started].map((node) =>
        writeFile(path.join(logs, `${node.name}.log`), node.output()),
      ),
    );
    return logs;
  }

  async killAll(): Promise<void> {
    const left = [...this.running];
    for (const node of left) node.child.kill('SIGKILL');
    await Promise.all(left.map((node) => node.exited));
  }

  /** Partitions of the workflow host per owning node, as `luact cluster --json` shows them. */
  async owners(): Promise<Map<string, number>> {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [CLI, 'cluster', this.dir, '--nats', this.nats.url, '--json'],
        { timeout: 30_000 },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    const status = JSON.parse(stdout) as {
      owners?: Record<string, readonly { node: string }[]>;
    };
    const counts = new Map<string, number>();
    for (const owner of status.owners?.[HOST] ?? [])
      counts.set(owner.node, (counts.get(owner.node) ?? 0) + 1);
    return counts;
  }

  /**
   * Waits until the partitions are spread evenly over `names` (a join moves them in steps);
   * rejects when that takes past `deadline` (Unix ms).
   */
  async balanced(names: readonly string[], deadline: number): Promise<void> {
    for (;;) {
      // Before the first node joined, `luact cluster` finds no cluster: nothing owned yet.
      const counts = await this.owners().catch(() => new Map<string, number>());
      const shares = names.map((name) => counts.get(name) ?? 0);
      if (
        shares.reduce((a, b) => a + b, 0) === PARTITIONS &&
        Math.max(...shares) - Math.min(...shares) <= 1
      )
        return;
      if (Date.now() > deadline)
        throw new Error(
          `the partitions were not balanced over ${names.join(', ')} in time: ${JSON.stringify(Object.fromEntries(counts))}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private start(name: string, more: readonly string[]): LuactNode {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        this.dir,
        '--nats',
        this.nats.url,
        '--node',
        name,
        '--control',
        path.join(this.dir, `${name}.sock`),
        '--state-dir',
        path.join(this.dir, `state-${name}`),
        ...more,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    const changed = new Set<() => void>();
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (const listener of changed) listener();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once('close', (code) => {
        for (const listener of changed) listener();
        resolve(code);
      }),
    );
    const node: LuactNode = {
      name,
      child,
      exited,
      output: () => `${stdout}\n${stderr}`,
      waitForLog: (fields, timeoutMs) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => settle(() => reject(new Error(`${name}: no log ${JSON.stringify(fields)}`))),
            timeoutMs,
          );
          const check = () => {
            const found = logRecords(stderr).find((record) =>
              Object.entries(fields).every(([key, value]) => record[key] === value),
            );
            if (found) settle(() => resolve(found));
            else if (child.exitCode !== null || child.signalCode !== null)
              settle(() =>
                reject(
                  new Error(
                    `${name} ended before logging ${JSON.stringify(fields)}:\n${stderr.slice(-3000)}`,
                  ),
                ),
              );
          };
          const settle = (done: () => void) => {
            clearTimeout(timer);
            changed.delete(check);
            done();
          };
          changed.add(check);
          check();
        }),
      async result<T>() {
        const code = await exited;
        const line = stdout.split('\n').find((text) => text.startsWith('{"'));
        const printed =
          line === undefined ? undefined : (JSON.parse(line) as { ok: boolean; value: T });
        if (code !== 0 || !printed?.ok)
          throw new Error(
            `${name}: --exec failed (exit ${code}): ${stdout}\n${stderr.slice(-3000)}`,
          );
        return printed.value;
      },
    };
    this.running.add(node);
    this.started.push(node);
    void exited.then(() => this.running.delete(node));
    return node;
  }
}

/**
 * When the last partition of `dead` was taken over (Unix ms): the latest "workflow partition
 * taken over" a survivor logged at the epoch of the view that declared `dead` down.
 */
function lastTakeover(survivors: readonly LuactNode[], dead: string): number {
  const records = survivors.flatMap((node) => logRecords(node.output()));
  const view = records.find(
    (record) =>
      record.msg === 'committed a view' &&
      Array.isArray(record.down) &&
      (record.down as unknown[]).includes(dead),
  );
  if (view === undefined) throw new Error(`no survivor logged the view without ${dead}`);
  const times = records
    .filter(
      (record) => record.msg === 'workflow partition taken over' && record.epoch === view.version,
    )
    .map((record) => Date.parse(String(record.time)));
  if (times.length === 0) throw new Error(`no partition of ${dead} was taken over`);
  return Math.max(...times);
}

/** `promise`, or a rejection naming `what` once `ms` passed. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function logRecords(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/**
 * {@link KILLS} times, with fresh nodes a (driving), b and c: 1,000 sleepers started over the
 * three, each having run step 1 and waiting on a durable timer; b is SIGKILLed just before the
 * timers are due. From the kill: the view without b (a monitor on b gets its EXIT), the last of
 * the 1,000 step 2s (b's share runs once taken over), the last workflow's end.
 */
async function failover(nodes: LuactNodes): Promise<Figure[]> {
  const detected: number[] = [];
  const progressed: number[] = [];
  const finished: number[] = [];
  const shares: number[] = [];
  const startPhases: number[] = [];
  const takenOver: number[] = [];
  for (let round = 0; round < KILLS; round++) {
    const [a, b, c] = [`fo${round}-a`, `fo${round}-b`, `fo${round}-c`];
    const victim = await nodes.serve(b);
    const survivor = await nodes.serve(c);
    const startMs = Date.now() + SETTLE_MS;
    const dueMs = startMs + START_BUDGET_MS;
    const driver = nodes.exec(a, 'bench:failover', [FAILOVER_WORKFLOWS, b, startMs, dueMs]);
    const outcome = driver.result<{
      on_victim: number;
      down_ms: number;
      last_step_ms: number;
      last_exit_ms: number;
      failed: number;
    }>();
    outcome.catch(() => {}); // an earlier failure is the one to report
    await nodes.balanced([a, b, c], startMs);
    const waiting = await driver.waitForLog({ msg: 'waiting' }, START_BUDGET_MS + SETTLE_MS);
    const killAt = dueMs - KILL_LEAD_MS;
    if (Date.now() > killAt)
      throw new Error(
        `starting ${FAILOVER_WORKFLOWS} workflows took more than ${START_BUDGET_MS - KILL_LEAD_MS} ms (${JSON.stringify(waiting)}): raise START_BUDGET_MS`,
      );
    await new Promise((resolve) => setTimeout(resolve, killAt - Date.now()));
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const result = await within(RUN_BOUND_MS, outcome, `failover round ${round + 1}`);
    if (result.failed > 0) throw new Error(`${result.failed} workflows failed after the kill`);
    detected.push(result.down_ms - killedAt);
    progressed.push(result.last_step_ms - killedAt);
    finished.push(result.last_exit_ms - killedAt);
    shares.push(result.on_victim);
    startPhases.push(Number(waiting.at_ms) - startMs);
    takenOver.push(lastTakeover([driver, survivor], b) - killedAt);
    await nodes.stop(survivor);
  }
  process.stderr.write(
    `workflow failover: all started and waiting after ${startPhases.join(', ')} ms; b drove ${shares.join(', ')} of ${FAILOVER_WORKFLOWS}; detection ${detected.join(', ')} ms; partitions taken over ${takenOver.join(', ')} ms; all progressed ${progressed.join(', ')} ms; all ended ${finished.join(', ')} ms\n`,
  );
  const baseline = `node down: SIGKILL to the view without the node (median of ${KILLS})`;
  return [
    {
      figure: `workflow failover: SIGKILL to all ${FAILOVER_WORKFLOWS} workflows progressed again (3 nodes, median of ${KILLS})`,
      median: median(progressed),
      unit: 'ms',
      baseline,
      baselineMedian: median(detected),
      durability: DURABILITY,
    },
    {
      figure: `workflow failover: SIGKILL to the dead node's partitions all taken over (median of ${KILLS})`,
      median: median(takenOver),
      unit: 'ms',
      baseline,
      baselineMedian: median(detected),
      durability: DURABILITY,
    },
    {
      figure: `workflow failover: SIGKILL to all ${FAILOVER_WORKFLOWS} workflows ended (3 nodes, median of ${KILLS})`,
      median: median(finished),
      unit: 'ms',
      baseline,
      baselineMedian: median(detected),
      durability: DURABILITY,
    },
  ];
}

/**
 * 2,000 three-step workflows started at once by 20 processes of one node, on 1, 2 and 3
 * nodes (fresh each time, the partitions balanced over them first); workflows/s from the
 * first start to the last end.
 */
async function throughput(nodes: LuactNodes): Promise<Figure[]> {
  const perSecond: number[] = [];
  for (let count = 1; count <= 3; count++) {
    const names = Array.from({ length: count }, (_, i) => `tp${count}-${i}`);
    const serving: LuactNode[] = [];
    for (const name of names.slice(1)) serving.push(await nodes.serve(name));
    const startMs = Date.now() + SETTLE_MS;
    const driver = nodes.exec(names[0] as string, 'bench:throughput', [
      THROUGHPUT_WORKFLOWS,
      STARTERS,
      startMs,
    ]);
    const outcome = driver.result<{ ms: number; failed: number }>();
    outcome.catch(() => {}); // an earlier failure is the one to report
    await nodes.balanced(names, startMs);
    const { ms, failed } = await within(RUN_BOUND_MS, outcome, `the ${count}-node run`);
    if (failed > 0) throw new Error(`${failed} of the ${count}-node run's workflows failed`);
    perSecond.push(THROUGHPUT_WORKFLOWS / (ms / 1000));
    await nodes.stop(...serving);
  }
  return perSecond.map((rate, i) => ({
    figure: `3-step workflows, ${THROUGHPUT_WORKFLOWS} at once, ${i + 1} node${i === 0 ? '' : 's'}`,
    median: rate,
    unit: 'workflows/s',
    baseline: '1 node, same run',
    baselineMedian: perSecond[0] ?? Number.NaN,
    durability: DURABILITY,
  }));
}
