import type { MessagePort } from 'node:worker_threads';
import { type EntryId, LuactError } from '@luact/core';
import type { SliceObserver } from '@luact/lua';
import {
  type Attempt,
  type Envelope,
  EVENT_KIND,
  type ExitOutcome,
  eventDetails,
  messageBytes,
  nodeOf,
  type Pid,
  type Process,
  type RemoteParent,
  type RemoteSpawnRequest,
  type Signal,
  type ThreadReceiver,
  type ThreadRouter,
} from '@luact/process';
import { AwaitedResults } from './awaited-results.js';
import { LEAVE, type MailLimits, MailRoom, slackOf, TAKE_AND_ASK } from './mail-room.js';
import { NameAuthority } from './name-authority.js';
import { NameCopy } from './name-copy.js';
import { PendingAnswers } from './pending-answers.js';
import type { ThreadActivity } from './thread-activity.js';
import { answerCall, type MainCall, ThreadCalls } from './thread-calls.js';
import { ranOn, type ThreadDown, workerDownError } from './thread-down.js';
import { ThreadLink } from './thread-link.js';
import {
  MAIN_THREAD,
  pidHostAndId,
  type ThreadPlan,
  threadsOf,
  workerOf,
  workerThread,
} from './thread-plan.js';
import { signalOf, signalRecord, type ThreadRecord } from './thread-records.js';
import type { AddedHostData } from './worker-boot.js';
import { WorkerCounters } from './worker-counters.js';

/**
 * Records a thread's process system does not take: what a worker's processes print and log,
 * and registry changes for a worker.
 */
export type SideRecord = Extract<
  ThreadRecord,
  {
    readonly t:
      | 'print'
      | 'log'
      | 'registry'
      | 'event'
      | 'functions'
      | 'workflow-ended'
      | 'node-down'
      | 'cluster-name'
      | 'cluster-members';
  }
>;

/**
 * What the main thread of a cluster node keeps of the cluster traffic of its workers'
 * processes (see ClusterRelay): the other nodes' processes that follow them, told when their
 * worker thread is lost.
 */
export interface ThreadsInCluster {
  /** A signal from another node is forwarded to a worker's process. */
  inbound(signal: Signal): void;
  /** A worker's process `child` was spawned for `parent`, a process of another node. */
  spawnedFor(parent: RemoteParent, child: Pid): void;
  /** A worker thread is gone: the processes of other nodes that followed its `onIt` PIDs hear it. */
  lost(onIt: (pid: Pid) => boolean, error: LuactError): void;
}

export interface WorkerRouterOptions {
  /** This thread: MAIN_THREAD, or a worker (workerThread(host, w)). */
  readonly self: string;
  readonly plan: ThreadPlan;
  /** The shared counters of each worker host. */
  readonly counters: ReadonlyMap<string, WorkerCounters>;
  /** What to do with records that are not mail (prints and logs on main, registry changes). */
  readonly side?: (record: SideRecord) => void;
  /** Told around each batch a link brings (a worker's pulse). */
  readonly pulse?: SliceObserver;
  /** This thread's activity: its links count the batches they carry there. */
  readonly activity?: ThreadActivity;
  /** The node's name in its cluster (its PIDs name it); undefined standalone. */
  readonly node?: string;
}

/**
 * The ThreadRouter of one thread of a node whose hosts run on worker threads: it finds the
 * thread of a PID from the PID (see ThreadPlan), places spawns (a process's spawn onto its own
 * host stays on its worker; any other goes to the host's least loaded worker), and carries
 * mail, signals and spawns on one ThreadLink per pair of threads.
 */
export class WorkerRouter implements ThreadRouter {
  /** The node's process names: decided here on the main thread, a copy on a worker. */
  readonly names: NameAuthority | NameCopy;
  private receiver: ThreadReceiver | undefined;
  /** Per thread, the room of its processes' mailboxes as this thread counts it. */
  private readonly rooms = new Map<string, MailRoom>();
  /** The batches this thread's links took, from any thread (see MailRoom). */
  private readonly taken = { batches: 0 };
  /** Mail left to its receiver's verdict. */
  private readonly asking = new PendingAnswers<void>();
  private readonly mailLimits: Map<string, MailLimits>;
  private readonly links = new Map<string, ThreadLink>();
  /** Each worker host's thread keys, by worker (a host added while the node runs too). */
  private readonly threadKeys = new Map<string, readonly string[]>();
  /** The shared counters of each worker host. */
  private readonly counters: Map<string, WorkerCounters>;
  private readonly mainHosts: Set<string>;
  /** Worker hosts a registry change removed to start them again, until it is done. */
  private readonly restarting = new Set<string>();
  /** The host this thread is a worker of, and which of its workers (undefined on main). */
  private readonly own: { readonly host: string; readonly w: number } | undefined;
  private readonly spawning = new PendingAnswers<Pid>();
  /** Outcomes this thread's processes and inboxes wait for from children on other threads. */
  private readonly awaited = new AwaitedResults();
  private readonly calls = new ThreadCalls();
  private nextAttempt = 1;
  /** Answers other threads' calls of what this thread keeps (main's: see serve). */
  private answer: ((from: string, call: MainCall) => unknown) | undefined;
  /** On the main thread of a cluster node: see ThreadsInCluster. */
  private cluster: ThreadsInCluster | undefined;
  /** The parents of the spawns asked of other threads (on a cluster node), by spawn. */
  private readonly parents = new Map<
    number,
    { readonly thread: string; readonly parent: RemoteParent }
  >();

  constructor(private readonly options: WorkerRouterOptions) {
    for (const { id, workers } of options.plan.workerHosts) {
      const keys = Array.from({ length: workers }, (_, w) => workerThread(id, w));
      this.threadKeys.set(id, keys);
      const w = keys.indexOf(options.self);
      if (w !== -1) this.own = { host: id, w };
    }
    this.counters = new Map(options.counters);
    this.mainHosts = new Set(options.plan.mainHosts);
    this.mailLimits = new Map(Object.entries(options.plan.mailLimits ?? {}));
    const threadOf = (pid: Pid) => this.threadOf(pid);
    this.names =
      options.self === MAIN_THREAD
        ? new NameAuthority(
            threadsOf(options.plan).filter((thread) => thread !== MAIN_THREAD),
            // After the node stopped its threads, nobody is left to tell.
            (thread, record) => this.links.get(thread)?.post(record),
            threadOf,
          )
        : new NameCopy((record) => this.links.get(MAIN_THREAD)?.post(record), threadOf);
  }

  /** Carries records to and from `thread` on `port`. */
  connect(thread: string, port: MessagePort): ThreadLink {
    const link = new ThreadLink(port, this.options.activity, this.taken);
    const watch: Watch = { recent: new Map(), said: new Map(), handled: 0, asked: false };
    link.listen(
      (record) => this.receive(thread, link, record, watch),
      (batch) => this.batchDone(link, watch, batch),
      this.options.pulse,
    );
    link.report = () => this.report(watch);
    this.links.set(thread, link);
    this.rooms.set(thread, new MailRoom());
    return link;
  }

  /**
   * Host `host.id` was added while the node runs, on worker threads: its PIDs and spawns go to
   * them from now on, on `ports` (this thread's links to them; what its threads sent before
   * this waited in them).
   */
  hostAdded(host: AddedHostData, ports: readonly { thread: string; port: MessagePort }[]): void {
    const { id, workers, counters, mailLimits } = host;
    this.threadKeys.set(
      id,
      Array.from({ length: workers }, (_, w) => workerThread(id, w)),
    );
    this.counters.set(id, new WorkerCounters(counters, workers));
    this.mainHosts.delete(id);
    if (mailLimits !== undefined) this.mailLimits.set(id, mailLimits);
    for (const { thread, port } of ports) this.connect(thread, port).unref();
  }

  /**
   * Host `hostId` of worker threads (its PIDs numbered below `below`) was removed while the
   * node runs, and its threads have stopped. Its links close; what still followed its
   * processes from here (an EXIT they sent that was not taken yet) ends with `error`, as for a
   * process of a host removed on this thread; its PIDs answer NOT_FOUND and spawns onto it
   * fail as onto any unknown host (unless it runs on main now: see hostOnMain).
   */
  hostRemoved(hostId: string, below: number, error: LuactError): void {
    const threads = this.threadKeys.get(hostId);
    if (threads === undefined) return;
    const node = this.options.node;
    // Its PIDs were all below `below`: the host added again under its ID numbers past it.
    const onIt = (pid: Pid) => {
      if (node !== undefined && nodeOf(pid) !== node) return false;
      const parts = pidHostAndId(pid);
      return parts !== undefined && parts.host === hostId && parts.id < below;
    };
    for (const thread of threads) {
      if (thread === this.options.self) continue;
      this.links.get(thread)?.close();
      this.links.delete(thread);
      this.rooms.delete(thread);
      this.forget(thread, onIt, error);
    }
    this.threadKeys.delete(hostId);
    this.counters.delete(hostId);
    this.mailLimits.delete(hostId);
  }

  /**
   * A registry change restarts host `hostId` (removes it, wherever it runs, and starts it
   * again): until restartDone, spawns onto it fail as onto a host that is away for a moment,
   * not as onto one that is not there.
   */
  restartBegins(hostId: string): void {
    this.restarting.add(hostId);
  }

  /** The registry change that restarts host `hostId` is done, or failed (see restartBegins). */
  restartDone(hostId: string): void {
    this.restarting.delete(hostId);
  }

  /** The hosts being restarted now (see restartBegins): a thread starting meanwhile is told. */
  restartingHosts(): string[] {
    return [...this.restarting];
  }

  /** Process host `hostId` runs on the main thread (added there while the node runs). */
  hostOnMain(hostId: string, mailLimits: MailLimits): void {
    this.mainHosts.add(hostId);
    this.mailLimits.set(hostId, mailLimits);
  }

  /** The link to `thread` (for records that are not mail: prints and logs). */
  linkTo(thread: string): ThreadLink | undefined {
    return this.links.get(thread);
  }

  threadOf(pid: Pid): string | undefined {
    // Another node's PID may name a host of the same ID: it is no thread of this node.
    if (this.options.node !== undefined && nodeOf(pid) !== this.options.node) return undefined;
    const parts = pidHostAndId(pid);
    if (parts === undefined) return undefined;
    const keys = this.threadKeys.get(parts.host);
    if (keys !== undefined) {
      // A host being removed: its PIDs are no process's any more (mail to them is NOT_FOUND).
      if (this.counters.get(parts.host)?.retired) return undefined;
      const thread = keys[parts.id % keys.length];
      return thread === this.options.self ? undefined : thread;
    }
    return this.own !== undefined && this.mainHosts.has(parts.host) ? MAIN_THREAD : undefined;
  }

  threadForSpawn(hostId: EntryId, spawner: Process | undefined): string | undefined {
    if (this.restarting.has(hostId)) throw restartingError(hostId);
    const keys = this.threadKeys.get(hostId);
    if (keys !== undefined) {
      // A process's child on its own host stays with it: their mail stays in one engine.
      if (spawner !== undefined && hostId === this.own?.host) return undefined;
      const counters = this.counters.get(hostId) as WorkerCounters;
      // Its threads are stopping: spawns fail as onto any host that is not there, or one
      // that is away for a moment.
      if (counters.restarting) throw restartingError(hostId);
      if (counters.retired) throw new LuactError('NOT_FOUND', `host ${hostId} was removed`);
      const w = counters.leastLoaded();
      if (w === undefined)
        throw new LuactError(
          'UNAVAILABLE',
          `no worker thread of host ${hostId} can take a spawn now: every one is lost or being replaced`,
        );
      return keys[w];
    }
    return this.own !== undefined && this.mainHosts.has(hostId) ? MAIN_THREAD : undefined;
  }

  send(thread: string, envelope: Envelope): Promise<void> | undefined {
    const link = this.link(thread);
    const { to, topic, payload } = envelope;
    // At most the message's weight (messageBytes): a UTF-16 unit is at most 3 bytes of UTF-8.
    if (
      this.postIfFits(thread, link, to, payload.length + topic.length * 3, { t: 'mail', envelope })
    )
      return undefined;
    return this.ask(thread, link, (id) => ({ t: 'mail-ask', id, envelope }));
  }

  sendAsking(thread: string, envelope: Envelope): Promise<void> {
    return this.ask(thread, this.link(thread), (id) => ({ t: 'mail-ask', id, envelope }));
  }

  signal(thread: string, signal: Signal): Promise<void> | undefined {
    const link = this.link(thread);
    this.cluster?.inbound(signal);
    if (signal.kind !== 'cancel') {
      link.post(signalRecord(signal));
      return undefined;
    }
    // A cancel request counts like a message in its receiver's mailbox.
    const size = eventDetails(signal).length + EVENT_KIND.cancel.length;
    if (this.postIfFits(thread, link, signal.to, size, signalRecord(signal))) return undefined;
    return this.ask(thread, link, (id) => ({ t: 'cancel-ask', id, signal }));
  }

  /**
   * Posts `record`, mail of at most `size` bytes to `to`, if it surely fits its mailbox as this
   * thread counts it (see MailRoom): counted as sent in the batch it goes in. False: it is left
   * to the receiver's verdict.
   */
  private postIfFits(
    thread: string,
    link: ThreadLink,
    to: Pid,
    size: number,
    record: ThreadRecord,
  ): boolean {
    // The batch the record goes in is the next one: nothing is posted between here and it.
    const admission = (this.rooms.get(thread) as MailRoom).admit(
      to,
      size,
      link.batch,
      this.foreignTo(link),
    );
    // A receiver not heard of is left to it, unless its host has no mailbox limits (an inbox).
    if (admission === LEAVE && this.limitsOf(to) !== undefined) return false;
    link.post(record);
    // Asked after the record, whichever batch the question goes in: the answer counts it.
    if (admission === TAKE_AND_ASK) link.post({ t: 'room-ask', pid: to });
    return true;
  }

  /** Mail left to its receiver's verdict: settles with it. */
  private ask(thread: string, link: ThreadLink, record: (id: number) => ThreadRecord) {
    return this.asking.ask(thread, (id) => link.post(record(id)));
  }

  registerInCluster(thread: string, name: string, pid: Pid): Promise<void> {
    return this.ask(thread, this.link(thread), (id) => ({ t: 'cluster-name-for', id, name, pid }));
  }

  spawn(thread: string, request: RemoteSpawnRequest): Promise<Pid> {
    const link = this.link(thread);
    const parent = request.parent;
    const spawned = this.spawning.ask(thread, (id) => {
      if (parent?.resultChannel !== undefined)
        this.awaited.expect(id, thread, parent.pid, parent.resultChannel);
      if (parent !== undefined && this.cluster !== undefined)
        this.parents.set(id, { thread, parent });
      link.post({ t: 'spawn', id, request });
      // On its way to a worker: that worker counts it as taken (see spawnFor).
      const worker = this.workerOfThread(thread);
      worker?.counters.sent(worker.w);
    });
    // The child's mailbox holds its startup messages: mail to it is admitted from there.
    const messages = request.messages ?? [];
    let bytes = 0;
    for (const { topic, payload } of messages) bytes += messageBytes(topic, payload);
    return spawned.then((pid) => {
      // Heard of in the batch that said it started (this runs before the next one is taken).
      const limits = this.limitsOf(pid);
      if (limits)
        this.rooms.get(thread)?.spawned(pid, limits, messages.length, bytes, this.foreignTo(link));
      return pid;
    });
  }

  /** On the main thread of a cluster node: what follows its workers' processes from afar. */
  joinCluster(cluster: ThreadsInCluster): void {
    this.cluster = cluster;
  }

  /** Answers the calls of other threads with `answer` (the main thread's services). */
  serve(answer: (from: string, call: MainCall) => unknown): void {
    this.answer = answer;
  }

  /** Asks `thread` (main) for what it keeps; see thread-calls.ts. */
  call(thread: string, call: MainCall): Promise<unknown> {
    return this.calls.call(thread, this.link(thread), call);
  }

  /** Tells `thread` (main) `call`, wanting no answer. */
  tell(thread: string, call: MainCall): void {
    this.calls.tell(this.link(thread), call);
  }

  invoke(
    thread: string,
    request: {
      readonly entry: EntryId;
      readonly args: Uint8Array;
      readonly context: ReadonlyMap<string, Uint8Array>;
      readonly caller: Pid;
    },
  ): Attempt {
    const attempt = this.nextAttempt++;
    const outcome = this.call(thread, {
      s: 'funcs.invoke',
      entry: request.entry,
      args: request.args,
      context: [...request.context],
      caller: request.caller,
      attempt,
    }).then(
      (value): ExitOutcome => ({ ok: true, value: value as Uint8Array }),
      (error: unknown): ExitOutcome => ({ ok: false, error: LuactError.from(error) }),
    );
    return {
      onEnd: (listener) => void outcome.then(listener),
      stop: (error) => this.tell(thread, { s: 'funcs.cancel', attempt, reason: error.message }),
    };
  }

  attach(receiver: ThreadReceiver): void {
    this.receiver = receiver;
  }

  processEnded(pid: Pid): void {
    this.awaited.parentEnded(pid);
  }

  /**
   * The outcome for `parent`'s channel `channel` left for another node (a cluster node's main
   * thread relays its workers' signals there): it is no longer awaited here.
   */
  resultRelayed(parent: Pid, channel: number): void {
    this.awaited.settled(parent, channel);
  }

  /**
   * `thread` is gone: the spawns it was asked for fail (nothing will answer them), and on the
   * main thread the names its processes (`ranThere`) held are free (they ended with it).
   */
  private threadLost(thread: string, ranThere: (pid: Pid) => boolean): void {
    const gone = new LuactError('UNAVAILABLE', `worker thread ${thread} is gone`);
    this.calls.fail(thread, gone);
    this.asking.fail(thread, gone);
    const worker = this.workerOfThread(thread);
    // A spawn asked of a thread its host's restart stopped fails as one asked after the stop.
    const spawns = this.spawning.fail(
      thread,
      worker?.counters.restarting ? restartingError(worker.host) : gone,
    );
    // Never answered: no longer on their way there (a thread that takes its place starts with
    // none counted, and none is counted below none: see WorkerCounters).
    for (let i = 0; worker !== undefined && i < spawns; i++) worker.counters.taken(worker.w);
    for (const [id, asked] of this.parents) if (asked.thread === thread) this.parents.delete(id);
    if (this.names instanceof NameAuthority) {
      this.names.threadLost(thread);
      this.names.dropNamesWhere(ranThere);
    }
  }

  /** The counters of worker thread `thread`'s host, and its number there (undefined: main). */
  private workerOfThread(
    thread: string,
  ): { readonly host: string; readonly counters: WorkerCounters; readonly w: number } | undefined {
    const worker = workerOf(thread);
    const counters = worker && this.counters.get(worker.host);
    if (worker === undefined || counters === undefined || !(worker.w < counters.workers))
      return undefined;
    return { ...worker, counters };
  }

  /**
   * Worker thread `down.thread` is gone. What it sent before it went is taken first (its last
   * batches may come after its end), then its link is closed (nothing is taken after); the
   * spawns asked of it fail (threadLost); then what this thread's processes and inboxes
   * followed there — monitors, links, watches, results awaited from children — ends with
   * "worker down", and its PIDs answer NOT_FOUND from now on. `port`: the link to the thread
   * that takes its place (it is taken as soon as that one starts).
   */
  threadDown(down: ThreadDown, port?: MessagePort): ThreadLink | undefined {
    const { thread } = down;
    const link = this.links.get(thread);
    link?.drain();
    link?.close();
    this.links.delete(thread);
    this.forget(thread, ranOn(down), workerDownError(down));
    return port === undefined ? undefined : this.connect(thread, port);
  }

  /**
   * `thread` is gone, its link closed: the spawns asked of it fail (threadLost); what this
   * thread's processes and inboxes followed of its processes (`onIt`) ends with `error`.
   */
  private forget(thread: string, onIt: (pid: Pid) => boolean, error: LuactError): void {
    this.threadLost(thread, onIt);
    const receiver = this.receiver;
    if (receiver === undefined) return;
    receiver.placeDown(thread, onIt, error);
    this.cluster?.lost(onIt, error);
    const outcome = { ok: false, error } as const;
    // A child not started yet is a spawn that just failed: its parent learns from that.
    for (const { parent, channel, child } of this.awaited.lost(thread))
      if (child !== undefined)
        receiver.signal({ kind: 'result', to: parent, from: child, channel, outcome });
  }

  /** Sends what is waiting on every link now (before the thread blocks or ends). */
  flush(): void {
    for (const link of this.links.values()) link.flush();
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const closed = new LuactError('UNAVAILABLE', 'the node is stopping');
    for (const pending of [this.calls, this.spawning, this.asking]) pending.fail(undefined, closed);
    this.awaited.clear();
    if (this.names instanceof NameCopy) this.names.close();
  }

  private link(thread: string): ThreadLink {
    const link = this.links.get(thread);
    if (link === undefined) throw new LuactError('INTERNAL', `no link to thread ${thread}`);
    return link;
  }

  private receive(from: string, link: ThreadLink, record: ThreadRecord, watch: Watch): void {
    const receiver = this.receiver;
    if (receiver === undefined) return;
    switch (record.t) {
      case 'mail':
        // A refusal goes back to the sender as a `refused` signal (the process system's rule).
        void receiver.deliver(record.envelope);
        watch.recent.set(record.envelope.to, link.heard);
        return;
      case 'room-ask':
        askedAbout(watch, record.pid, link.heard);
        return;
      case 'mail-ask': {
        const { id, envelope } = record;
        void Promise.resolve(receiver.deliver(envelope)).then((refused) =>
          link.post({
            t: 'mail-answer',
            id,
            ...(refused instanceof LuactError ? { error: refused.toData() } : {}),
          }),
        );
        askedAbout(watch, envelope.to, link.heard);
        return;
      }
      case 'cancel-ask': {
        const refused = receiver.cancel(record.signal);
        link.post({
          t: 'mail-answer',
          id: record.id,
          ...(refused ? { error: refused.toData() } : {}),
        });
        askedAbout(watch, record.signal.to, link.heard);
        return;
      }
      case 'cluster-name-for': {
        const { id } = record;
        const answer = (error?: LuactError) =>
          link.post({ t: 'mail-answer', id, ...(error ? { error: error.toData() } : {}) });
        const registered = receiver.registerInCluster(record.name, record.pid);
        if (registered instanceof Promise)
          registered.then(
            () => answer(),
            (error: unknown) => answer(LuactError.from(error)),
          );
        else answer(registered);
        return;
      }
      case 'mail-answer': {
        const waiting = this.asking.take(record.id);
        if (record.error) waiting?.reject(LuactError.fromData(record.error));
        else waiting?.resolve();
        return;
      }
      case 'room': {
        const room = this.rooms.get(from);
        const { batch, rooms } = record;
        for (let i = 0; i < rooms.length; i += 3) {
          const pid = rooms[i] as Pid;
          const limits = this.limitsOf(pid);
          if (limits)
            room?.holds(
              pid,
              limits,
              batch,
              rooms[i + 1] as number,
              rooms[i + 2] as number,
              this.foreignTo(link),
            );
        }
        return;
      }
      case 'signal': {
        const signal = signalOf(record.signal);
        if (signal.kind === 'result') this.awaited.settled(signal.to, signal.channel);
        // A cancel request the sender's thread counted in the mailbox (see signal).
        else if (signal.kind === 'cancel') watch.recent.set(signal.to, link.heard);
        receiver.signal(signal);
        return;
      }
      case 'spawn':
        this.spawnFor(link, record.id, record.request, receiver, watch);
        return;
      case 'spawned': {
        // Followed from now on, before the child's first word on this link (its end may be next).
        const asked = this.parents.get(record.id);
        if (asked !== undefined) {
          this.parents.delete(record.id);
          this.cluster?.spawnedFor(asked.parent, record.pid);
        }
        this.awaited.started(record.id, record.pid);
        this.spawning.take(record.id)?.resolve(record.pid);
        return;
      }
      case 'spawn-failed':
        this.parents.delete(record.id);
        this.awaited.failed(record.id);
        this.spawning.take(record.id)?.reject(LuactError.fromData(record.error));
        return;
      case 'call': {
        const answer = this.answer;
        answerCall(link, record, (call) =>
          answer
            ? answer(from, call)
            : new LuactError('INTERNAL', `thread ${this.options.self} answers no calls`),
        );
        return;
      }
      case 'answer':
      case 'call-failed':
        this.calls.settle(record);
        return;
      case 'print':
      case 'log':
      case 'registry':
      case 'event':
      case 'functions':
      case 'workflow-ended':
      case 'node-down':
      case 'cluster-name':
      case 'cluster-members':
        this.options.side?.(record);
        return;
      case 'name-claim':
      case 'name-drop':
      case 'name-released':
      case 'name-answer':
      case 'name-set':
      case 'name-gone':
      case 'name-acked':
      case 'name-hold':
      case 'name-held':
        if (this.names instanceof NameAuthority) this.names.receive(from, record);
        else this.names.receive(record);
        return;
      default: {
        const unknown: never = record;
        throw new Error(`unknown record from ${from}: ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** The mailbox limits of the host of `pid`: undefined for no process host's (an inbox). */
  private limitsOf(pid: Pid): MailLimits | undefined {
    const parts = pidHostAndId(pid);
    return parts && this.mailLimits.get(parts.host);
  }

  /**
   * The other thread handled batch `batch` from this one: what it asked about (it came near a
   * limit, or left mail to the receiver) is said at once, if nothing else goes to it soon.
   */
  private batchDone(link: ThreadLink, watch: Watch, batch: number): void {
    watch.handled = batch;
    if (!watch.asked) return;
    watch.asked = false;
    link.reportSoon();
  }

  /**
   * What changed in the mailboxes of the processes here that the other thread mailed lately,
   * as a batch to it goes (the first record of the batch: see MailRoom): a mailbox that moved
   * past its slack (slackOf) from what it last said (so that what a process here says in the
   * batch, that it filled its own mailbox, is counted there), or one it asked about (it came
   * near a limit, or left mail to the receiver: its count of what is in flight starts again
   * from the batch said). A batch that says nothing of a mailbox says it holds what it said
   * last, give or take its slack. Processes it has not mailed in the last RECENT batches it
   * posted here (and, past MOST processes, those it mailed first) are said as ended: it forgets
   * them, and its next message to one waits for the receiver's verdict, which makes it said
   * again.
   */
  private report(watch: Watch): ThreadRecord | undefined {
    const { recent, said, handled } = watch;
    const receiver = this.receiver;
    if (recent.size === 0 || receiver === undefined) return undefined;
    const oldest = handled - RECENT;
    let over = recent.size - MOST;
    const rooms: (string | number)[] = [];
    for (const [pid, last] of recent) {
      const held = over-- > 0 || last < oldest ? undefined : receiver.held(pid);
      if (held === undefined) {
        recent.delete(pid);
        said.delete(pid);
        rooms.push(pid, -1, 0);
        continue;
      }
      const before = said.get(pid);
      if (before === undefined) {
        const limits = this.limitsOf(pid);
        const slack = limits ? slackOf(limits) : NO_SLACK;
        said.set(pid, [held.length, held.bytes, slack.messages, slack.bytes]);
      } else if (
        Math.abs(held.length - before[0]) <= before[2] &&
        Math.abs(held.bytes - before[1]) <= before[3]
      ) {
        continue;
      } else {
        before[0] = held.length;
        before[1] = held.bytes;
      }
      rooms.push(pid, held.length, held.bytes);
    }
    return rooms.length === 0 ? undefined : { t: 'room', batch: handled, rooms };
  }

  /**
   * The batches this thread took from threads other than `link`'s: what that thread said of its
   * mailboxes counts while this stays the same (see MailRoom). Its own batches say whatever
   * changed (see report); another thread's may bring news of them (a sender there filled one).
   */
  private foreignTo(link: ThreadLink): number {
    return this.taken.batches - link.heard;
  }

  /** A spawn another thread asked for; answered on the same link, before the child's mail. */
  private spawnFor(
    link: ThreadLink,
    id: number,
    request: RemoteSpawnRequest,
    receiver: ThreadReceiver,
    watch: Watch,
  ): void {
    const failed = (error: unknown) =>
      link.post({ t: 'spawn-failed', id, error: LuactError.from(error).toData() });
    let spawned: Pid | Promise<Pid>;
    try {
      spawned = receiver.spawn(request);
    } catch (error) {
      failed(error);
      return;
    } finally {
      // No longer on its way here: this thread's count of its processes has it now (counted
      // first, so that the worker never looks one lighter than it is in between).
      if (this.own !== undefined) this.counters.get(this.own.host)?.taken(this.own.w);
    }
    // Its mailbox is said with the batch that says it started (the spawner counts from there).
    const started = (pid: Pid) => {
      watch.recent.set(pid, link.heard);
      link.post({ t: 'spawned', id, pid });
    };
    if (typeof spawned === 'string') started(spawned);
    else spawned.then(started, failed);
  }
}

/** The slack of a mailbox of no process host (an inbox's): none, every change is said. */
const NO_SLACK = { messages: 0, bytes: 0 };

/**
 * What a thread keeps of the mail another thread sends it (see WorkerRouter.report): the
 * processes here it mailed, with the number of the last of its batches that did.
 */
interface Watch {
  readonly recent: Map<Pid, number>;
  /**
   * What the last report said each of them held, messages and bytes, and how far each may
   * move before it is said again (see slackOf).
   */
  readonly said: Map<Pid, [messages: number, bytes: number, slack: number, slackBytes: number]>;
  /** The last of its batches this thread handled. */
  handled: number;
  /** It asked what a mailbox holds in the batch being handled (room-ask, or mail left here). */
  asked: boolean;
}

/**
 * The other thread asked what `pid`'s mailbox holds (room-ask), or left a message or a cancel
 * to its verdict, in its batch `heard`: the next report says the mailbox, changed or not.
 */
function askedAbout(watch: Watch, pid: Pid, heard: number): void {
  watch.recent.set(pid, heard);
  watch.said.delete(pid);
  watch.asked = true;
}

/** Its batches after which a process it stopped mailing is no longer said (see report). */
const RECENT = 64;
/** The most processes said in one report (those it first mailed first go). */
const MOST = 256;

/** A spawn onto a worker host while a registry change restarts it. */
function restartingError(hostId: string): LuactError {
  return new LuactError(
    'UNAVAILABLE',
    `host ${hostId} is being restarted by a registry change: try again in a moment`,
    { retryable: true, details: { host: hostId } },
  );
}
