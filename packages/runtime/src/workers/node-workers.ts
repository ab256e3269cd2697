import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import type { LogRecord } from '@luact/lua';
import { FUNCTION_HOST, type HostLimits, INBOX_HOST } from '@luact/process';
import {
  activateEntry,
  type Diagnostic,
  type EntryChange,
  type Environment,
  type RegistrySnapshot,
} from '@luact/registry';
import { DEFAULT_LIMITS } from '../limits.js';
import type { MailLimits } from './mail-room.js';
import { MAIN_THREAD, type ThreadPlan, threadsOf, workerThread } from './thread-plan.js';
import { type FromWorker, registryCopy, type ToWorker, type WorkerBoot } from './worker-boot.js';
import { WorkerCounters } from './worker-counters.js';
import { WorkerRouter } from './worker-router.js';

/** A process host that runs on worker threads. */
export interface WorkerHost {
  readonly id: string;
  readonly workers: number;
  readonly limits: HostLimits;
}

/** The threads a node's registry asks for, and what it said about them. */
export interface WorkerPlan {
  readonly plan: ThreadPlan;
  readonly hosts: readonly WorkerHost[];
  /** A `workers` above the machine's cores is run with as many threads as there are cores. */
  readonly warnings: readonly Diagnostic[];
}

/** How long a worker thread may take to boot (its engine, its modules) before start fails. */
const BOOT_TIMEOUT_MS = 30_000;

/**
 * The worker threads of a node (every process host with `workers` > 1): the links between all
 * of its threads (one MessageChannel per pair, made here), the main thread's ThreadRouter, the
 * shared counters of each host, and the threads themselves. A node without such a host has
 * none of it.
 */
export class NodeWorkers {
  readonly router: WorkerRouter;
  private readonly counters = new Map<string, WorkerCounters>();
  /** Each worker's ends of its links, until it is started with them. */
  private readonly pendingPorts = new Map<string, { thread: string; port: MessagePort }[]>();
  private readonly threads: Worker[] = [];
  private readonly workerHostIds: ReadonlySet<string>;

  /** The worker hosts of `snapshot`, their thread counts (at most the machine's cores). */
  static plan(snapshot: RegistrySnapshot, env: Environment): WorkerPlan {
    const cores = availableParallelism();
    const hosts: WorkerHost[] = [];
    const warnings: Diagnostic[] = [];
    const mainHosts = [MAIN_HOST_ID, FUNCTION_HOST, INBOX_HOST];
    const mailLimits: Record<string, MailLimits> = {
      [MAIN_HOST_ID]: mailLimitsOf(DEFAULT_LIMITS),
      [FUNCTION_HOST]: mailLimitsOf(DEFAULT_LIMITS),
    };
    for (const entry of snapshot.ofKind('terminal.host')) mainHosts.push(entry.id);
    for (const entry of snapshot.ofKind('process.host')) {
      const config = activateEntry(entry, env);
      const asked = config.ok ? config.value.host.workers : 1;
      const workers = Math.min(asked, cores);
      if (config.ok) mailLimits[entry.id] = mailLimitsOf(config.value.host);
      if (workers < asked) {
        warnings.push({
          severity: 'warning',
          code: 'invalid-value',
          entry: entry.id,
          field: 'host.workers',
          message: `workers: ${asked} is more than this machine's ${cores} cores: the host runs on ${cores} worker threads`,
        });
      }
      if (config.ok && workers > 1) {
        const { workers: _, ...limits } = config.value.host;
        hosts.push({ id: entry.id, workers, limits });
      } else mainHosts.push(entry.id);
    }
    const workerHosts = hosts.map(({ id, workers }) => ({ id, workers }));
    return { plan: { workerHosts, mainHosts, mailLimits }, hosts, warnings };
  }

  private stopping = false;
  /** Threads that ended before the node stopped them. */
  private readonly exited = new WeakSet<Worker>();

  constructor(
    private readonly planned: WorkerPlan,
    private readonly side: {
      readonly print: (text: string) => void;
      readonly log?: (record: LogRecord) => void;
    },
  ) {
    for (const { id, workers } of planned.hosts)
      this.counters.set(id, WorkerCounters.create(workers));
    this.workerHostIds = new Set(planned.hosts.map((host) => host.id));
    this.router = new WorkerRouter({
      self: MAIN_THREAD,
      plan: planned.plan,
      counters: this.counters,
      side: (record) => {
        if (record.t === 'print') side.print(record.text);
        else if (record.t === 'log') side.log?.(record.record);
      },
    });
    const threads = threadsOf(planned.plan);
    for (const thread of threads) this.pendingPorts.set(thread, []);
    for (let a = 0; a < threads.length; a++) {
      for (let b = a + 1; b < threads.length; b++) {
        const { port1, port2 } = new MessageChannel();
        const [from, to] = [threads[a] as string, threads[b] as string];
        this.pendingPorts.get(from)?.push({ thread: to, port: port1 });
        this.pendingPorts.get(to)?.push({ thread: from, port: port2 });
      }
    }
    for (const { thread, port } of this.pendingPorts.get(MAIN_THREAD) ?? []) {
      // The worker threads keep the node's process alive while they run, not its idle links.
      this.router.connect(thread, port).unref();
    }
    this.pendingPorts.delete(MAIN_THREAD);
  }

  /** Whether `hostId` runs on worker threads. */
  runs(hostId: string): boolean {
    return this.workerHostIds.has(hostId);
  }

  /** How many worker threads the node runs. */
  get threadCount(): number {
    return this.threads.length;
  }

  /** Starts every worker thread and resolves once all are ready (their engines booted). */
  async start(snapshot: RegistrySnapshot, env: Environment, workflowHosts: readonly string[]) {
    const registry = registryCopy(snapshot.version, snapshot.entries());
    const counters = [...this.counters].map(([host, counter]) => ({
      host,
      buffer: counter.buffer,
      workers: counter.workers,
    }));
    const booting: Promise<void>[] = [];
    for (const host of this.planned.hosts) {
      for (let w = 0; w < host.workers; w++) {
        const ports = this.pendingPorts.get(workerThread(host.id, w)) ?? [];
        const boot: WorkerBoot = {
          host: host.id,
          w,
          limits: host.limits,
          plan: this.planned.plan,
          counters,
          ports,
          registry,
          env: { ...env },
          workflowHosts,
        };
        const worker = new Worker(workerScript(), {
          // None of this process's Node.js options: the thread loads the built packages, with
          // no loader or export condition a test runner set (and process-wide flags such as
          // --expose-gc are refused per thread).
          execArgv: [],
          workerData: boot,
          transferList: ports.map(({ port }) => port),
        });
        this.threads.push(worker);
        const thread = workerThread(host.id, w);
        booting.push(ready(worker, thread).then(() => this.watch(worker, thread, host.id, w)));
      }
    }
    this.pendingPorts.clear();
    await Promise.all(booting);
  }

  /** The registry changed: every worker gets the new version, in order with its mail. */
  registryChanged(snapshot: RegistrySnapshot): void {
    const registry = registryCopy(snapshot.version, snapshot.entries());
    for (const { id, workers } of this.planned.hosts) {
      for (let w = 0; w < workers; w++)
        this.router.linkTo(workerThread(id, w))?.post({ t: 'registry', registry });
    }
  }

  /**
   * A worker thread that fails or ends while the node runs is said in the node's log (its
   * processes are gone with it: replacing a worker is not done yet), never thrown at the node.
   */
  private watch(worker: Worker, thread: string, host: string, w: number): void {
    const lost = (why: string) => {
      this.counters.get(host)?.markDown(w);
      this.router.threadLost(thread);
      this.lost(thread, why);
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => {
      this.exited.add(worker);
      if (!this.stopping) lost(`it exited with code ${code}`);
    });
  }

  private lost(thread: string, why: string): void {
    this.side.log?.({
      level: 'error',
      message: `worker thread ${thread} stopped: ${why}; its processes are gone, and the thread is not replaced`,
      fields: { thread },
      labels: {},
    });
  }

  /** Stops every worker thread (their processes end with them). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.router.flush();
    await Promise.all(
      this.threads.filter((worker) => !this.exited.has(worker)).map((worker) => stopped(worker)),
    );
    this.threads.length = 0;
    this.router.close();
  }
}

/**
 * Why `changes` cannot be applied while the node runs, when they add, change or remove a host
 * that runs (or would run) on worker threads: its threads start with the node for now.
 */
export function workerHostChanges(
  changes: readonly EntryChange[],
  runsOnWorkers: (hostId: string) => boolean,
  env: Environment,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const change of changes) {
    const entry = change.type === 'deleted' ? change.previous : change.entry;
    if (entry.kind !== 'process.host') continue;
    const config = change.type === 'deleted' ? undefined : activateEntry(entry, env);
    const asks = config?.ok === true && config.value.host.workers > 1;
    if (!asks && !runsOnWorkers(entry.id)) continue;
    problems.push({
      severity: 'error',
      code: 'invalid-value',
      entry: entry.id,
      field: 'host.workers',
      message: `a process host on worker threads (workers > 1) cannot be ${change.type === 'created' ? 'added' : change.type === 'deleted' ? 'removed' : 'changed'} while the node runs yet: restart the node to apply it`,
    });
  }
  return problems;
}

function mailLimitsOf(limits: HostLimits): MailLimits {
  const { max_mailbox, max_mailbox_bytes, max_message_size } = limits;
  return { max_mailbox, max_mailbox_bytes, max_message_size };
}

/** The ID of the node's main host (MAIN_HOST of node.ts, kept here to avoid a cycle). */
const MAIN_HOST_ID = 'luact:main';

/**
 * The worker's entry as JavaScript: when the runtime itself runs from its TypeScript sources
 * (the test runner), the built file beside them; threads cannot load TypeScript.
 */
function workerScript(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/workers/worker-main.js', here)
    : new URL('./worker-main.js', here);
}

function ready(worker: Worker, thread: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new LuactError(
            'TIMEOUT',
            `worker thread ${thread} did not start within ${BOOT_TIMEOUT_MS} ms`,
          ),
        ),
      BOOT_TIMEOUT_MS,
    );
    const settle = (error?: LuactError) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: FromWorker) => {
      if (message.t === 'ready') settle();
      else if (message.t === 'failed')
        settle(
          new LuactError(message.error.kind, `worker thread ${thread}: ${message.error.message}`),
        );
    };
    const onError = (error: Error) =>
      settle(
        new LuactError('INTERNAL', `worker thread ${thread} failed to start: ${error.message}`),
      );
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}

/** Asks a worker to stop (its processes end), and ends the thread if it does not in time. */
function stopped(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), 2_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ t: 'stop' } satisfies ToWorker);
  });
}
