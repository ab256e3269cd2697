import type { MessagePort } from 'node:worker_threads';
import { type EntryId, LuactError } from '@luact/core';
import type { SliceObserver } from '@luact/lua';
import type {
  Envelope,
  Pid,
  Process,
  RemoteSpawnRequest,
  Signal,
  ThreadReceiver,
  ThreadRouter,
} from '@luact/process';
import { AwaitedResults } from './awaited-results.js';
import { ranOn, type ThreadDown, workerDownError } from './thread-down.js';
import { ThreadLink } from './thread-link.js';
import { MAIN_THREAD, pidHostAndId, type ThreadPlan, workerThread } from './thread-plan.js';
import { signalOf, signalRecord, type ThreadRecord } from './thread-records.js';
import type { WorkerCounters } from './worker-counters.js';

/**
 * Records a thread's process system does not take: what a worker's processes print and log,
 * and registry changes for a worker.
 */
export type SideRecord = Extract<ThreadRecord, { readonly t: 'print' | 'log' | 'registry' }>;

export interface WorkerRouterOptions {
  /** This thread: MAIN_THREAD, or a worker (workerThread(host, w)). */
  readonly self: string;
  readonly plan: ThreadPlan;
  /** The shared counters of each worker host. */
  readonly counters: ReadonlyMap<string, WorkerCounters>;
  /** What to do with records that are not mail (prints and logs on main, registry changes). */
  readonly side?: (record: SideRecord) => void;
  /** Why names cannot be used on this thread (a worker's). */
  readonly namesRefused?: (name: string) => LuactError;
  /** Told around each batch a link brings (a worker's pulse). */
  readonly pulse?: SliceObserver;
}

/**
 * The ThreadRouter of one thread of a node whose hosts run on worker threads: it finds the
 * thread of a PID from the PID (see ThreadPlan), places spawns (a process's spawn onto its own
 * host stays on its worker; any other goes to the host's least loaded worker), and carries
 * mail, signals and spawns on one ThreadLink per pair of threads.
 */
export class WorkerRouter implements ThreadRouter {
  private receiver: ThreadReceiver | undefined;
  private readonly links = new Map<string, ThreadLink>();
  /** Each worker host's thread keys, by worker. */
  private readonly threadKeys = new Map<string, readonly string[]>();
  private readonly mainHosts: ReadonlySet<string>;
  /** The host this thread is a worker of (undefined on the main thread). */
  private readonly ownHost: string | undefined;
  private readonly spawning = new Map<
    number,
    { readonly thread: string; resolve(pid: Pid): void; reject(error: LuactError): void }
  >();
  private nextSpawn = 1;
  /** Outcomes this thread's processes and inboxes wait for from children on other threads. */
  private readonly awaited = new AwaitedResults();

  constructor(private readonly options: WorkerRouterOptions) {
    for (const { id, workers } of options.plan.workerHosts) {
      const keys = Array.from({ length: workers }, (_, w) => workerThread(id, w));
      this.threadKeys.set(id, keys);
      if (keys.includes(options.self)) this.ownHost = id;
    }
    this.mainHosts = new Set(options.plan.mainHosts);
  }

  namesRefused(name: string): LuactError | undefined {
    return this.options.namesRefused?.(name);
  }

  /** Carries records to and from `thread` on `port`. */
  connect(thread: string, port: MessagePort): ThreadLink {
    const link = new ThreadLink(port);
    link.listen((record) => this.receive(thread, link, record), this.options.pulse);
    this.links.set(thread, link);
    return link;
  }

  /** The link to `thread` (for records that are not mail: prints and logs). */
  linkTo(thread: string): ThreadLink | undefined {
    return this.links.get(thread);
  }

  threadOf(pid: Pid): string | undefined {
    const parts = pidHostAndId(pid);
    if (parts === undefined) return undefined;
    const keys = this.threadKeys.get(parts.host);
    if (keys !== undefined) {
      const thread = keys[parts.id % keys.length];
      return thread === this.options.self ? undefined : thread;
    }
    return this.ownHost !== undefined && this.mainHosts.has(parts.host) ? MAIN_THREAD : undefined;
  }

  threadForSpawn(hostId: EntryId, spawner: Process | undefined): string | undefined {
    const keys = this.threadKeys.get(hostId);
    if (keys !== undefined) {
      // A process's child on its own host stays with it: their mail stays in one engine.
      if (spawner !== undefined && hostId === this.ownHost) return undefined;
      const w = (this.options.counters.get(hostId) as WorkerCounters).leastLoaded();
      if (w === undefined)
        throw new LuactError(
          'UNAVAILABLE',
          `no worker thread of host ${hostId} can take a spawn now: every one is lost or being replaced`,
        );
      return keys[w];
    }
    return this.ownHost !== undefined && this.mainHosts.has(hostId) ? MAIN_THREAD : undefined;
  }

  send(thread: string, envelope: Envelope): void {
    this.link(thread).post({ t: 'mail', envelope });
  }

  signal(thread: string, signal: Signal): void {
    this.link(thread).post(signalRecord(signal));
  }

  spawn(thread: string, request: RemoteSpawnRequest): Promise<Pid> {
    const id = this.nextSpawn++;
    const link = this.link(thread);
    const parent = request.parent;
    if (parent?.resultChannel !== undefined)
      this.awaited.expect(id, thread, parent.pid, parent.resultChannel);
    return new Promise<Pid>((resolve, reject) => {
      this.spawning.set(id, { thread, resolve, reject });
      link.post({ t: 'spawn', id, request });
    });
  }

  attach(receiver: ThreadReceiver): void {
    this.receiver = receiver;
  }

  /** `thread` is gone: the spawns it was asked for fail (nothing will answer them). */
  threadLost(thread: string): void {
    for (const [id, waiting] of this.spawning) {
      if (waiting.thread !== thread) continue;
      this.spawning.delete(id);
      waiting.reject(new LuactError('UNAVAILABLE', `worker thread ${thread} is gone`));
    }
  }

  /**
   * Worker thread `down.thread` is gone. Its link is closed first (nothing it sent is taken
   * after this); the spawns asked of it fail (threadLost); then what this thread's processes
   * and inboxes followed there — monitors, links, watches, results awaited from children —
   * ends with "worker down", and its PIDs answer NOT_FOUND from now on. `port`: the link to
   * the thread that takes its place (it is taken as soon as that one starts).
   */
  threadDown(down: ThreadDown, port?: MessagePort): ThreadLink | undefined {
    const { thread } = down;
    this.links.get(thread)?.close();
    this.links.delete(thread);
    this.threadLost(thread);
    const receiver = this.receiver;
    if (receiver !== undefined) {
      const error = workerDownError(down);
      receiver.placeDown(thread, ranOn(down), error);
      const outcome = { ok: false, error } as const;
      // A child not started yet is a spawn that just failed: its parent learns from that.
      for (const { parent, channel, child } of this.awaited.lost(thread))
        if (child !== undefined)
          receiver.signal({ kind: 'result', to: parent, from: child, channel, outcome });
    }
    return port === undefined ? undefined : this.connect(thread, port);
  }

  /** Sends what is waiting on every link now (before the thread blocks or ends). */
  flush(): void {
    for (const link of this.links.values()) link.flush();
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const closed = new LuactError('UNAVAILABLE', 'the node is stopping');
    for (const waiting of this.spawning.values()) waiting.reject(closed);
    this.spawning.clear();
    this.awaited.clear();
  }

  private link(thread: string): ThreadLink {
    const link = this.links.get(thread);
    if (link === undefined) throw new LuactError('INTERNAL', `no link to thread ${thread}`);
    return link;
  }

  private receive(from: string, link: ThreadLink, record: ThreadRecord): void {
    const receiver = this.receiver;
    if (receiver === undefined) return;
    switch (record.t) {
      case 'mail':
        // A refusal goes back to the sender as a `refused` signal (the process system's rule).
        void receiver.deliver(record.envelope);
        return;
      case 'signal': {
        const signal = signalOf(record.signal);
        if (signal.kind === 'result') this.awaited.settled(signal.to, signal.channel);
        receiver.signal(signal);
        return;
      }
      case 'spawn':
        this.spawnFor(link, record.id, record.request, receiver);
        return;
      case 'spawned':
        this.awaited.started(record.id, record.pid);
        this.settle(record.id)?.resolve(record.pid);
        return;
      case 'spawn-failed':
        this.awaited.failed(record.id);
        this.settle(record.id)?.reject(LuactError.fromData(record.error));
        return;
      case 'print':
      case 'log':
      case 'registry':
        this.options.side?.(record);
        return;
      default: {
        const unknown: never = record;
        throw new Error(`unknown record from ${from}: ${JSON.stringify(unknown)}`);
      }
    }
  }

  private settle(id: number) {
    const waiting = this.spawning.get(id);
    this.spawning.delete(id);
    return waiting;
  }

  /** A spawn another thread asked for; answered on the same link, before the child's mail. */
  private spawnFor(
    link: ThreadLink,
    id: number,
    request: RemoteSpawnRequest,
    receiver: ThreadReceiver,
  ): void {
    const failed = (error: unknown) =>
      link.post({ t: 'spawn-failed', id, error: LuactError.from(error).toData() });
    let spawned: Pid | Promise<Pid>;
    try {
      spawned = receiver.spawn(request);
    } catch (error) {
      failed(error);
      return;
    }
    if (typeof spawned === 'string') link.post({ t: 'spawned', id, pid: spawned });
    else spawned.then((pid) => link.post({ t: 'spawned', id, pid }), failed);
  }
}
