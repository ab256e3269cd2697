import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { HostMemoryPool, type LogRecord, type WallAnchor } from '@luact/lua';
import type { HostLimits, NodeIdentity, Pid } from '@luact/process';
import type { Environment, RegistrySnapshot } from '@luact/registry';
import type { ProcessView } from '../control/views.js';
import { ClusterRelay, type NodeCluster } from './cluster-relay.js';
import type { MainThreadServices } from './main-services.js';
import type { NameAuthority } from './name-authority.js';
import { nodeIsQuiet, ThreadActivity } from './thread-activity.js';
import { isClusterCall } from './thread-calls.js';
import type { ThreadDown } from './thread-down.js';
import { MAIN_THREAD, threadsOf, workerThread } from './thread-plan.js';
import type { ThreadRecord } from './thread-records.js';
import { stuckAfterMs, Watchdog } from './watchdog.js';
import { type FromWorker, registryCopy, type ToWorker, type WorkerBoot } from './worker-boot.js';
import { WorkerCounters } from './worker-counters.js';
import { mailLimitsOf, type WorkerHost, type WorkerPlan, workerHostOf } from './worker-plan.js';
import { WorkerPulse } from './worker-pulse.js';
import { WorkerRouter } from './worker-router.js';

/** How long `processes` waits for a worker's list. */
const LIST_WAIT_MS = 1_000;

/** How long a worker thread may take to boot (its engine, its modules) before start fails. */
const BOOT_TIMEOUT_MS = 30_000;

/** What a worker thread boots with besides its host, its index and its links. */
type NodeBoot = Pick<
  WorkerBoot,
  'registry' | 'env' | 'clock' | 'workflowHosts' | 'counters' | 'functions'
>;

/** The ports of a worker's links to the other threads, by thread. */
type Ports = { thread: string; port: MessagePort }[];

/**
 * The worker threads of a node (every process host with `workers` > 1): the links between all
 * of its threads (one MessageChannel per pair, made here), the main thread's ThreadRouter, the
 * shared counters and memory pool of each host, and the threads themselves. A node without such a host has
 * none of it. A worker that ends, fails, or stops answering (its watchdog) is replaced: what
 * followed its processes elsewhere ends with "worker down", and a new thread takes its place
 * (see `lose`).
 */
export class NodeWorkers {
  readonly router: WorkerRouter;
  private readonly counters = new Map<string, WorkerCounters>();
  /** Each host's max_memory, shared by its workers' heaps. */
  private readonly memory = new Map<string, HostMemoryPool>();
  /** Each worker's ends of its links, until it is started with them. */
  private readonly pendingPorts: Map<string, Ports>;
  /** The thread of each worker, from its start (or its replacement's) until it is lost. */
  private readonly running = new Map<string, Worker>();
  /** What each running worker says of its activity, by thread. */
  private readonly activities = new Map<string, ThreadActivity>();
  /** The main thread's: the frames it sent to and received from the workers. */
  private readonly activity = ThreadActivity.create();
  /** The frames main posted to each worker outside the links (see `post`, `forgetThread`). */
  private readonly posted = new WeakMap<Worker, number>();
  /** Lost workers whose replacement has not started yet (or failed to). */
  private replacements = 0;
  /** Whether the worker threads keep this Node.js process running (see holdProcess). */
  private holding = true;
  /** `luact ps` asked of a worker, by request. */
  private readonly lists = new Map<number, (processes: readonly ProcessView[]) => void>();
  private readonly workerHostIds = new Set<string>();
  private readonly watchdog = new Watchdog();
  /** What a worker boots with (a replacement: the registry as it is then). */
  private boot: NodeBoot | undefined;
  /** On a cluster node: its workers' way into the cluster, through this thread. */
  private readonly relay: ClusterRelay | undefined;
  /** Stops telling the workers of the cluster's changes (names, views). */
  private readonly unfollow: (() => void)[] = [];
  /** Host changes while the node runs, applied one after the other (see inTurn). */
  private hostChanges: Promise<void> = Promise.resolve();
  /** Host changes queued or being applied. */
  private changingHosts = 0;
  /** Lost workers are replaced one after the other (each gets links to the threads running). */
  private replacing: Promise<void> = Promise.resolve();
  private nextList = 1;

  private stopping = false;
  private services: MainThreadServices | undefined;
  /** The TypeScript functions registered on main (a thread started later boots with them). */
  private readonly functionIds: string[] = [];
  /** Threads that have ended (a stop does not wait for them). */
  private readonly exited = new WeakSet<Worker>();

  constructor(
    /** The plan of the node's start, and the hosts added on worker threads since. */
    private planned: WorkerPlan,
    private readonly side: {
      readonly print: (text: string) => void;
      readonly log?: (record: LogRecord) => void;
    },
    /** The node runs with test hooks (its workers' processes get `luact_test`). */
    private readonly testHooks = false,
    /** The node's cluster, on a cluster node: its workers reach it through this thread. */
    private readonly cluster?: NodeCluster,
  ) {
    for (const host of planned.hosts) this.own(host);
    this.router = new WorkerRouter({
      self: MAIN_THREAD,
      plan: planned.plan,
      counters: this.counters,
      activity: this.activity,
      side: (record) => {
        if (record.t === 'print') side.print(record.text);
        else if (record.t === 'log') side.log?.(record.record);
      },
      ...(cluster ? { node: cluster.identity.node } : {}),
    });
    if (cluster) {
      this.relay = new ClusterRelay(cluster, (parent, channel) =>
        this.router.resultRelayed(parent, channel),
      );
      this.router.joinCluster(this.relay);
    }
    this.pendingPorts = linked([], threadsOf(planned.plan));
    for (const { thread, port } of this.pendingPorts.get(MAIN_THREAD) ?? []) {
      // The worker threads keep the node's process alive while they run, not its idle links.
      this.router.connect(thread, port).unref();
    }
    this.pendingPorts.delete(MAIN_THREAD);
  }

  /**
   * Host `host` runs on this node's worker threads from now on: its shared counters (PIDs
   * numbered past `pidsAfter`) and its max_memory pool.
   */
  private own(host: WorkerHost, pidsAfter = 0): WorkerCounters {
    const counters = WorkerCounters.create(host.workers, pidsAfter);
    this.counters.set(host.id, counters);
    this.memory.set(host.id, HostMemoryPool.create(host.limits.max_memory, host.workers));
    this.workerHostIds.add(host.id);
    return counters;
  }

  /** Answers the workers' calls of what main keeps with `services`. */
  serve(services: MainThreadServices): void {
    this.services = services;
    const relay = this.relay;
    this.router.serve((from, call) => {
      if (!isClusterCall(call)) return services.answer(from, call);
      if (relay) return relay.answer(call);
      return new LuactError('INVALID', 'this node is in no cluster', { retryable: false });
    });
  }

  /** Whether `hostId` runs on worker threads. */
  runs(hostId: string): boolean {
    return this.workerHostIds.has(hostId);
  }

  /** How many worker threads the node runs. */
  get threadCount(): number {
    return this.running.size;
  }

  /**
   * Starts every worker thread and resolves once all are ready (their engines booted); their
   * clocks count from the node's (`clock`).
   */
  async start(
    snapshot: RegistrySnapshot,
    env: Environment,
    workflowHosts: readonly string[],
    clock: WallAnchor,
  ) {
    this.boot = {
      registry: registryCopy(snapshot.version, snapshot.entries()),
      env: { ...env },
      clock,
      workflowHosts,
      counters: this.sharedCounters(),
      functions: [...this.functionIds],
    };
    // Every worker's copy of the cluster names starts from here, and follows its changes.
    const cluster = this.cluster;
    if (cluster) {
      this.unfollow.push(
        cluster.names.follow((name, pid) =>
          this.tellWorkers({ t: 'cluster-name', name, ...(pid ? { pid } : {}) }),
        ),
      );
      const spread = cluster.spread;
      if (spread)
        this.unfollow.push(
          spread.follow(() =>
            this.tellWorkers({ t: 'cluster-members', members: spread.members() }),
          ),
        );
    }
    const booting: Promise<void>[] = [];
    for (const host of this.planned.hosts) {
      for (let w = 0; w < host.workers; w++)
        booting.push(this.launch(host, w, this.pendingPorts.get(workerThread(host.id, w)) ?? []));
    }
    this.pendingPorts.clear();
    await Promise.all(booting);
  }

  /**
   * Starts worker `w` of `host` on its ends of the links (`ports`); resolves once it is ready,
   * watched from then on: by its watchdog, and for its end (see `lose`).
   */
  private launch(host: WorkerHost, w: number, ports: Ports, late = false): Promise<void> {
    const thread = workerThread(host.id, w);
    const pulse = WorkerPulse.create();
    const activity = ThreadActivity.create();
    const boot: WorkerBoot = {
      ...(this.boot as NodeBoot),
      host: host.id,
      w,
      limits: host.limits,
      memory: (this.memory.get(host.id) as HostMemoryPool).buffer,
      plan: this.planned.plan,
      ports,
      restarting: this.router.restartingHosts(),
      pulse: pulse.buffer,
      activity: activity.buffer,
      testHooks: this.testHooks,
      // A thread started after the node (a replacement, a host added) starts with the node's
      // names as they are (later changes come on its link).
      ...(late ? { names: (this.router.names as NameAuthority).threadJoined(thread) } : {}),
      ...(this.cluster
        ? {
            cluster: {
              identity: this.cluster.identity,
              names: this.cluster.names.held(),
              ...(this.cluster.spread ? { spread: this.cluster.spread.members() } : {}),
            },
          }
        : {}),
    };
    let worker: Worker;
    try {
      worker = new Worker(workerScript(), {
        // None of this process's Node.js options: the thread loads the built packages, with
        // no loader or export condition a test runner set (and process-wide flags such as
        // --expose-gc are refused per thread).
        execArgv: [],
        workerData: boot,
        transferList: ports.map(({ port }) => port),
      });
    } catch (error) {
      // (No thread to start, as one that does not boot: see the callers.)
      return Promise.reject(error);
    }
    this.running.set(thread, worker);
    this.activities.set(thread, activity);
    worker.once('exit', () => this.exited.add(worker));
    // One listener for the worker's whole life: the first 'message' listener refs a Worker.
    worker.on('message', (message: FromWorker) => {
      if (message.t !== 'listed') return;
      this.lists.get(message.id)?.(message.processes);
    });
    if (!this.holding) worker.unref();
    return ready(worker, thread).then(() => {
      if (this.running.get(thread) !== worker) return;
      worker.on('error', (error) => this.lose(host, w, worker, `it failed: ${error.message}`));
      worker.on('exit', (code) => this.lose(host, w, worker, `it exited with code ${code}`));
      const bound = stuckAfterMs(host.limits.max_slice);
      this.watchdog.watch(thread, pulse, bound, (busy) =>
        this.lose(
          host,
          w,
          worker,
          `it stopped answering: busy for ${busy} ms without a break, more than its bound of ${bound} ms`,
        ),
      );
    });
  }

  /**
   * The processes every worker thread runs (`luact ps`), as each says within `waitMs`; a worker
   * that does not answer in time (booting, or stuck) is left out.
   */
  async processes(waitMs = LIST_WAIT_MS): Promise<ProcessView[]> {
    const lists = [...this.running.values()].map((worker) => this.list(worker, undefined, waitMs));
    return (await Promise.all(lists)).flat();
  }

  /**
   * Process `pid` of a worker thread as its thread says (undefined: it runs on no worker, or
   * has ended, or its thread did not answer within `waitMs`).
   */
  async process(pid: Pid, waitMs = LIST_WAIT_MS): Promise<ProcessView | undefined> {
    const thread = this.router.threadOf(pid);
    const worker = thread === undefined ? undefined : this.running.get(thread);
    if (worker === undefined) return undefined;
    return (await this.list(worker, pid, waitMs))[0];
  }

  /** What `worker` runs (only `pid`, if given), as it says within `waitMs` (else nothing). */
  private list(worker: Worker, pid: Pid | undefined, waitMs: number) {
    const id = this.nextList++;
    return new Promise<readonly ProcessView[]>((resolve) => {
      const done = (processes: readonly ProcessView[]) => {
        clearTimeout(timer);
        this.lists.delete(id);
        resolve(processes);
      };
      const timer = setTimeout(() => done([]), waitMs);
      this.lists.set(id, done);
      this.post(worker, { t: 'list', id, ...(pid !== undefined ? { pid } : {}) });
    });
  }

  /** Tells a worker something outside the links (it counts as a frame: see ThreadActivity). */
  private post(worker: Worker, message: ToWorker, transfer?: readonly MessagePort[]): void {
    this.activity.sent();
    this.posted.set(worker, (this.posted.get(worker) ?? 0) + 1);
    worker.postMessage(message, transfer);
  }

  /** Posts `message` to every worker thread running (or booting), on its control channel. */
  private postToEvery(message: ToWorker): void {
    for (const worker of this.running.values()) this.post(worker, message);
  }

  /**
   * Whether the worker threads keep this Node.js process running while the node runs (they do
   * by default). Let go, the process's event loop ends — and its `beforeExit` says so — when the
   * main thread has nothing left to do, whatever the workers do: whoever let go (NodeIdle)
   * then asks `quiet`, and keeps the process going itself while it is not.
   */
  holdProcess(hold: boolean): void {
    this.holding = hold;
    for (const worker of this.running.values()) {
      if (hold) worker.ref();
      else worker.unref();
    }
  }

  /**
   * Whether no worker thread can do anything any more and no frame is on its way: every worker
   * read twice (see nodeIsQuiet). Ask it only when the main thread has nothing left to do
   * itself (its `beforeExit`): its own counts are taken as they are then. A node replacing a
   * lost thread is not quiet; one whose threads are stopping (or stopped) has none left to ask.
   */
  quiet(): boolean {
    if (this.stopping) return true;
    if (this.replacements > 0 || this.changingHosts > 0) return false;
    const threads = [...this.activities.values()];
    const first = threads.map((activity) => activity.read());
    const second = threads.map((activity) => activity.read());
    return nodeIsQuiet(first, second, this.activity.read());
  }

  /** A TypeScript function was registered on main: every worker's calls of it go there. */
  functionRegistered(id: string): void {
    this.functionIds.push(id);
    // A thread started later boots with it (before any spawn reaches it, from any thread).
    if (this.boot) this.boot = { ...this.boot, functions: [...this.functionIds] };
    this.tellWorkers({ t: 'functions', ids: [id] });
  }

  /** The registry changed: every worker gets the new version, in order with its mail. */
  registryChanged(snapshot: RegistrySnapshot): void {
    const registry = registryCopy(snapshot.version, snapshot.entries());
    if (this.boot) this.boot = { ...this.boot, registry };
    for (const { id, workers } of this.planned.hosts) {
      for (let w = 0; w < workers; w++)
        this.router.linkTo(workerThread(id, w))?.post({ t: 'registry', registry });
    }
  }

  /**
   * The host `hostId` as it would run on worker threads in `snapshot` (as at start: its
   * `workers`, else the node's default), or undefined when it would run on the main thread.
   */
  workerHostOf(
    hostId: string,
    snapshot: RegistrySnapshot,
    env: Environment,
  ): WorkerHost | undefined {
    return workerHostOf(hostId, snapshot, env, this.planned.defaultWorkers);
  }

  /**
   * Adds `host` (not running yet) while the node runs, its PIDs numbered past `pidsAfter` (its
   * ID's earlier ones). From now on every thread routes its PIDs and spawns to its threads
   * (main at once, the other workers with their links to them, told before the new threads
   * start); its threads link to every thread as at start and boot with the node's names and
   * functions, and with the registry as the node has it then (registryChanged has seen the
   * change that added it). Resolves once they are ready; one that does not boot is said in
   * the log and takes no spawns.
   */
  async addHost(host: WorkerHost, pidsAfter = 0): Promise<void> {
    if (this.stopping || this.workerHostIds.has(host.id)) return;
    const counters = this.own(host, pidsAfter);
    const others = threadsOf(this.planned.plan);
    const mailLimits = mailLimitsOf(host.limits);
    const { plan } = this.planned;
    this.planned = {
      ...this.planned,
      plan: {
        workerHosts: [...plan.workerHosts, { id: host.id, workers: host.workers }],
        mainHosts: plan.mainHosts.filter((id) => id !== host.id),
        mailLimits: { ...plan.mailLimits, [host.id]: mailLimits },
      },
      hosts: [...this.planned.hosts, host],
    };
    if (this.boot) this.boot = { ...this.boot, counters: this.sharedCounters() };
    const fresh = Array.from({ length: host.workers }, (_, w) => workerThread(host.id, w));
    const ports = linked(others, fresh);
    const added = { id: host.id, workers: host.workers, mailLimits };
    this.router.hostAdded({ ...added, counters: counters.buffer }, ports.get(MAIN_THREAD) ?? []);
    // (Threads of a host of this ID removed before are new threads now.)
    for (const thread of fresh) this.services?.threadLinked(thread);
    for (const other of others) {
      if (other === MAIN_THREAD) continue;
      const links = ports.get(other) ?? [];
      const peer = this.running.get(other);
      // A thread being replaced links to the new ones as it starts (see `replace`).
      if (peer === undefined) for (const { port } of links) port.close();
      else
        this.post(
          peer,
          { t: 'host-added', host: { ...added, counters: counters.buffer }, ports: links },
          links.map(({ port }) => port),
        );
    }
    await Promise.all(
      fresh.map((thread, w) =>
        this.launch(host, w, ports.get(thread) ?? [], true).catch((error: unknown) => {
          const message = LuactError.from(error).message;
          this.abandon(host, w, this.downOf(host, w, `it could not start: ${message}`));
          this.log(
            'error',
            `worker thread ${thread} of host ${host.id} could not start: ${message}`,
            thread,
          );
        }),
      ),
    );
  }

  /**
   * Removes host `hostId` of worker threads while the node runs: no spawn goes there from now
   * on; its threads stop, their processes ending as on a host removed from the main thread
   * (CANCELED "terminated"; what followed them hears it); then every other thread forgets the
   * host (see WorkerRouter.hostRemoved). Resolves with the bound its PIDs were below (a host
   * of the same ID numbers its PIDs past it). `restarts`: a registry change starts it again
   * (see restartBegins).
   */
  async removeHost(hostId: string, restarts = false): Promise<number> {
    const host = this.planned.hosts.find(({ id }) => id === hostId);
    const counters = this.counters.get(hostId);
    if (host === undefined || counters === undefined || this.stopping) return 0;
    this.workerHostIds.delete(hostId);
    const threads = Array.from({ length: host.workers }, (_, w) => workerThread(hostId, w));
    counters.retire(restarts);
    await Promise.all(
      threads.map((thread) => {
        const worker = this.running.get(thread);
        // (Its end is no loss now: see `lose`.)
        this.forgetThread(thread);
        // Not running: lost, its replacement skipped (see `replace`).
        if (worker === undefined) return undefined;
        if (this.exited.has(worker)) return this.forgetPosts(worker);
        return stopped(worker, () => this.post(worker, { t: 'stop' })).then(() =>
          this.forgetPosts(worker),
        );
      }),
    );
    const below = counters.pidsBelow();
    this.counters.delete(hostId);
    this.memory.delete(hostId);
    const { plan } = this.planned;
    const { [hostId]: _, ...mailLimits } = plan.mailLimits ?? {};
    this.planned = {
      ...this.planned,
      plan: {
        ...plan,
        workerHosts: plan.workerHosts.filter(({ id }) => id !== hostId),
        mailLimits,
      },
      hosts: this.planned.hosts.filter(({ id }) => id !== hostId),
    };
    if (this.boot) this.boot = { ...this.boot, counters: this.sharedCounters() };
    const error = new LuactError('CANCELED', `terminated: host ${hostId} was removed`, {
      retryable: false,
      details: { host: hostId },
    });
    for (const thread of threads) this.services?.threadLost(thread);
    this.router.hostRemoved(hostId, below, error);
    this.postToEvery({ t: 'host-removed', host: hostId, below, error: error.toData() });
    return below;
  }

  /**
   * A registry change restarts host `hostId` (wherever it ran and runs next): until
   * restartDone, every thread answers spawns onto it with a retryable UNAVAILABLE.
   */
  restartBegins(hostId: string): void {
    this.router.restartBegins(hostId);
    this.postToEvery({ t: 'host-restarting', host: hostId, done: false });
  }

  /** The registry change that restarts host `hostId` is done, or failed (see restartBegins). */
  restartDone(hostId: string): void {
    this.router.restartDone(hostId);
    this.postToEvery({ t: 'host-restarting', host: hostId, done: true });
  }

  /**
   * Process host `hostId` was added on the main thread while the node runs: mail and spawns
   * from the workers' processes go there.
   */
  hostOnMain(hostId: string, limits: HostLimits): void {
    const mailLimits = mailLimitsOf(limits);
    const { plan } = this.planned;
    this.planned = {
      ...this.planned,
      plan: {
        ...plan,
        mainHosts: [...plan.mainHosts.filter((id) => id !== hostId), hostId],
        mailLimits: { ...plan.mailLimits, [hostId]: mailLimits },
      },
    };
    this.postToEvery({ t: 'host-on-main', host: hostId, mailLimits });
  }

  /**
   * Runs `change` (a host's change while the node runs) after the ones before it; the node is
   * not quiet until it is done. A change that fails is said in the log.
   */
  inTurn(hostId: string, change: () => Promise<void>): void {
    this.changingHosts++;
    this.hostChanges = this.hostChanges
      .then(change)
      .catch((error: unknown) =>
        this.log(
          'error',
          `host ${hostId} could not be changed: ${LuactError.from(error).message}`,
          MAIN_THREAD,
        ),
      )
      .finally(() => this.changingHosts--);
  }

  /** What the node's threads are told of worker `w` of `host` when it is gone, and `why`. */
  private downOf(host: WorkerHost, w: number, why: string): ThreadDown {
    return {
      thread: workerThread(host.id, w),
      host: host.id,
      w,
      workers: host.workers,
      fence: (this.counters.get(host.id) as WorkerCounters).fence(w),
      why,
      ...(this.cluster ? { node: this.cluster.identity.node } : {}),
    };
  }

  /**
   * Worker `w` of `host` did not start (a replacement, or a thread of a host added): it is
   * ended, takes no spawns, gives back its share of the host's memory, and main forgets it as
   * a lost thread (its names, spawns and calls wait for it no more; what main posted to it
   * leaves main's count). The host runs on its other workers.
   */
  private abandon(host: WorkerHost, w: number, down: ThreadDown): void {
    const { thread } = down;
    this.counters.get(host.id)?.markDown(w);
    const worker = this.running.get(thread);
    this.forgetThread(thread);
    if (worker) {
      this.forgetPosts(worker);
      void worker.terminate().then(() => {
        this.counters.get(host.id)?.terminated(w);
        this.memory.get(host.id)?.release(w);
      });
    }
    this.router.threadDown(down);
    this.services?.threadLost(thread);
  }

  /** `thread` is no longer run, watched, or counted in the node's activity. */
  private forgetThread(thread: string): void {
    this.running.delete(thread);
    this.activities.delete(thread);
    this.watchdog.unwatch(thread);
  }

  /**
   * `worker` is gone: the frames main posted to it leave main's count (taken or not, they no
   * longer wait for anyone: its own counts left with it).
   */
  private forgetPosts(worker: Worker): void {
    this.activity.forget(this.posted.get(worker) ?? 0, 0);
    this.posted.delete(worker);
  }

  /** Resolves once every host change asked for so far is applied (see inTurn). */
  hostChangesApplied(): Promise<void> {
    return this.hostChanges;
  }

  /** The shared counters of every worker host, as a worker boots with them. */
  private sharedCounters(): WorkerBoot['counters'] {
    return [...this.counters].map(([host, counter]) => ({
      host,
      buffer: counter.buffer,
      workers: counter.workers,
    }));
  }

  /**
   * Worker `w` of `host` failed, ended, or stopped answering, while the node runs (said in the
   * node's log, never thrown at it). No spawn goes there from now on; then, one loss after the
   * other (see `replace`), it is terminated, and replaced.
   */
  private lose(host: WorkerHost, w: number, worker: Worker, why: string): void {
    const thread = workerThread(host.id, w);
    if (this.stopping || this.running.get(thread) !== worker) return;
    this.forgetThread(thread);
    this.forgetPosts(worker);
    this.replacements++;
    this.counters.get(host.id)?.markDown(w);
    // What main forwarded to it or ran for it ends now (a replacement starts with none).
    this.services?.threadLost(thread);
    const lostAt = performance.now();
    this.replacing = this.replacing.then(() =>
      this.replace(host, w, worker, why, lostAt)
        .catch((error: unknown) =>
          this.log(
            'error',
            `worker thread ${workerThread(host.id, w)} could not be replaced: ${LuactError.from(error).message}`,
            workerThread(host.id, w),
          ),
        )
        .finally(() => this.replacements--),
    );
  }

  /**
   * Terminates the lost worker; then every other thread closes its link to it before it
   * sweeps (what followed its processes there ends with "worker down": see
   * WorkerRouter.threadDown), and gets its link to the new thread in the same message; the
   * new thread continues the lost one's PID counter (its old PIDs are never handed out again),
   * and takes spawns once it is ready.
   */
  private async replace(
    host: WorkerHost,
    w: number,
    worker: Worker,
    why: string,
    lostAt: number,
  ): Promise<void> {
    await worker.terminate();
    this.counters.get(host.id)?.terminated(w);
    // Its heap is gone with it: so is what it leased of the host's max_memory.
    this.memory.get(host.id)?.release(w);
    // (A host removed meanwhile is not replaced, nor is one of its ID added since: that one
    // runs threads of its own.)
    if (this.stopping || !this.planned.hosts.includes(host)) return;
    const thread = workerThread(host.id, w);
    const counters = this.counters.get(host.id) as WorkerCounters;
    const down = this.downOf(host, w, why);
    const ports: Ports = [];
    for (const other of threadsOf(this.planned.plan)) {
      if (other === thread) continue;
      const { port1, port2 } = new MessageChannel();
      ports.push({ thread: other, port: port2 });
      const peer = this.running.get(other);
      if (other === MAIN_THREAD) {
        this.router.threadDown(down, port1)?.unref();
        this.services?.threadLinked(thread);
      } else if (peer !== undefined)
        this.post(peer, { t: 'thread-down', down, port: port1 }, [port1]);
      // A thread lost too: what the new one sends there is dropped (as mail to a lost thread
      // is) until that one is replaced, which links its successor to the new one.
      else port1.close();
    }
    this.log('error', `worker thread ${thread} stopped: ${why}; ${REPLACED}`, thread);
    this.launch(host, w, ports, true).then(
      () => {
        counters.markUp(w);
        const ms = Math.round(performance.now() - lostAt);
        this.log('info', `worker thread ${thread} was replaced ${ms} ms after it was lost`, thread);
      },
      (error: unknown) => {
        if (this.stopping) return;
        const message = LuactError.from(error).message;
        this.abandon(host, w, this.downOf(host, w, `it could not be replaced: ${message}`));
        this.log(
          'error',
          `worker thread ${thread} could not be replaced: ${message}; host ${host.id} runs on its other workers`,
          thread,
        );
      },
    );
  }

  private log(level: LogRecord['level'], message: string, thread: string): void {
    this.side.log?.({ level, message, fields: { thread }, labels: {} });
  }

  /**
   * The cluster declared a node (that incarnation) down: every worker's processes hear it as
   * main's do, after the mail main forwarded to them from it.
   */
  nodeDown(down: NodeIdentity): void {
    this.relay?.nodeDown(down);
    this.tellWorkers({ t: 'node-down', ...down });
  }

  /** Posts `record` to every worker thread running (or booting: its link keeps it). */
  private tellWorkers(record: ThreadRecord): void {
    for (const thread of this.running.keys()) this.router.linkTo(thread)?.post(record);
  }

  /** Stops every worker thread (their processes end with them). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const stop of this.unfollow.splice(0)) stop();
    this.watchdog.stop();
    await this.replacing;
    await this.hostChanges;
    this.router.flush();
    const live = [...this.running.values()].filter((worker) => !this.exited.has(worker));
    await Promise.all(
      live.map((worker) => stopped(worker, () => this.post(worker, { t: 'stop' }))),
    );
    this.running.clear();
    this.router.close();
  }
}

/** What the log says after a lost worker thread. */
const REPLACED =
  'what followed its processes ends with "worker down", and a new thread takes its place';

/**
 * The worker's entry as JavaScript: when the runtime itself runs from its TypeScript sources
 * (the test runner), the built file beside them; threads cannot load TypeScript.
 */
/**
 * The ends of one new channel for every pair of threads with a thread of `fresh` in it (to
 * each thread of `existing`, and to each other), by thread: how threads are linked at the
 * node's start (no existing ones) and when a host is added.
 */
function linked(existing: readonly string[], fresh: readonly string[]): Map<string, Ports> {
  const ports = new Map<string, Ports>([...existing, ...fresh].map((thread) => [thread, []]));
  for (const [i, thread] of fresh.entries()) {
    for (const other of [...existing, ...fresh.slice(i + 1)]) {
      const { port1, port2 } = new MessageChannel();
      ports.get(thread)?.push({ thread: other, port: port1 });
      ports.get(other)?.push({ thread, port: port2 });
    }
  }
  return ports;
}

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
      worker.off('exit', onExit);
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
    const onExit = (code: number) =>
      settle(
        new LuactError('INTERNAL', `worker thread ${thread} exited (code ${code}) as it started`),
      );
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.once('exit', onExit);
  });
}

/**
 * Asks a worker to stop (`ask`: its processes end), and ends the thread if it does not in time.
 */
function stopped(worker: Worker, ask: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), 2_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    ask();
  });
}
