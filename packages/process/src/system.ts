import {
  type EntryId,
  LuactError,
  type RetryPolicy,
  readRetryPolicy,
  resolveReference,
  splitEntryId,
} from '@luact/core';
import {
  type Clock,
  encodeError,
  type GroupOutcome,
  type LuaApi,
  type LuaModuleSpec,
  type SharedHostMemory,
  type SliceObserver,
  systemClock,
} from '@luact/lua';
import {
  didYouMeanEntry,
  isKind,
  processFunctionHost,
  type RegistrySnapshot,
  workflowHostOfQueue,
} from '@luact/registry';
import {
  checkArguments,
  checkContext,
  checkStartupMessages,
  fitting,
  mailboxRoom,
  messageRoom,
} from './admission.js';
import { forget, notAlive } from './delivery.js';
import { EndedElsewhere } from './ended-elsewhere.js';
import { EVENT_KIND, eventDetails } from './events.js';
import { exitOutcome, linkFailure } from './exit.js';
import type { ExternalHost } from './external-host.js';
import {
  type FunctionCallRequest,
  FunctionCalls,
  type FunctionInvocation,
  type Invocation,
} from './function-calls.js';
import { type HostLimits, type HostWideCount, isLuaEntry, ProcessHost } from './host.js';
import type { HostFunctionEntry } from './host-function-run.js';
import { type Inbox, Inboxes } from './inboxes.js';
import { LinksAndMonitors } from './links-and-monitors.js';
import { LiveProcesses } from './live-processes.js';
import { LocalTransport } from './local-transport.js';
import { eventBytes } from './mailbox.js';
import type { ClusterNames, NameRegistry, NameScope } from './names.js';
import { deliverOutcome } from './outcome.js';
import { PendingAnswers } from './pending.js';
import {
  formatPid,
  localNumber,
  looksLikePid,
  mayBeNameOnNode,
  type NodeIdentity,
  nodeOf,
  type Pid,
  type PidParts,
  parseNameOnNode,
  parsePid,
} from './pid.js';
import { Process } from './process.js';
import type { NumberedText } from './process-api.js';
import { noHolder, ProcessNames, unknownName } from './process-names.js';
import { localSpawnFor, RemoteSpawns } from './remote-spawns.js';
import { ResolvedReferences } from './resolved-references.js';
import type { Attempt } from './retried-calls.js';
import { PLAIN_CALL_RETRY } from './retried-calls.js';
import { SpawnRouting, spawnNamespace } from './spawn-routing.js';
import type { ThreadRouter } from './threads.js';
import type {
  Delivery,
  Envelope,
  ExitOutcome,
  Handing,
  RemoteParent,
  RemoteSpawnRequest,
  Signal,
  Transport,
} from './transport.js';
import { checkReason, checkReference, checkTopic, shorten } from './value-limits.js';

/** Where an address leads, as this node sees it (ProcessSystem.route). */
export type Route =
  | { readonly kind: 'process'; readonly process: Process }
  | { readonly kind: 'inbox'; readonly receive: (envelope: Envelope) => void }
  /** A host that journals what it receives before it counts: a workflow host. */
  | { readonly kind: 'external'; readonly host: ExternalHost }
  | { readonly kind: 'remote'; readonly node: string }
  /** Another thread of this node (a host with worker threads). */
  | { readonly kind: 'thread'; readonly thread: string }
  | { readonly kind: 'nowhere' };

export interface SpawnRequest {
  readonly entry: string;
  readonly host: string;
  /** msgpack array of the arguments of the entry's method. */
  readonly args: Uint8Array;
  /** The spawning process: relative entry and host IDs resolve in its entry's namespace. */
  readonly parent?: Process;
  readonly monitor?: boolean;
  readonly link?: boolean;
  readonly context?: ReadonlyMap<string, Uint8Array>;
  readonly name?: string;
  /** The scope of `name` (default: the node's `defaultNameScope`). */
  readonly nameScope?: NameScope;
  readonly messages?: readonly { readonly topic: string; readonly payload: Uint8Array }[];
  readonly options?: Readonly<Record<string, unknown>>;
  /** Deliver the child's outcome to this fed channel of the parent (process.exec, funcs). */
  readonly outcomeChannel?: number;
  /** Entry kinds the target accepts (process.lua; function.lua for the function host). */
  readonly kinds?: readonly string[];
  /** A parent on another node (a spawn that node asked for); `parent` is then undefined. */
  readonly remoteParent?: RemoteParent;
}

/** Where spawns that name no node run, on a cluster node. */
export interface Placement {
  /** The node for a child on process host `host` (undefined or this node's name: here). */
  nodeFor(host: string): string | undefined;
}

/** How a host runs on a worker thread (a host of the main thread has none of it). */
export interface HostThread {
  /** Told around each slice of the host's VM (the worker's pulse). */
  readonly onSlice?: SliceObserver;
  /** The host runs on several threads: its max_memory holds for all of them. */
  readonly sharedMemory?: SharedHostMemory;
}

export interface ProcessSystemOptions {
  readonly api: LuaApi;
  /** The registry as it is now (new spawns use the entries of the current snapshot). */
  readonly snapshot: () => RegistrySnapshot;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly transport?: Transport;
  /** In a cluster: which node a process's spawn that names no node runs on (default: here). */
  readonly placement?: Placement;
  /** Names shared with the other nodes of a cluster (`cluster` scope); standalone: none. */
  readonly names?: ClusterNames;
  /**
   * The scope of a name registered without one (default `local`): `cluster` where the cluster
   * is used as one node (placement `spread`), so a name is found wherever its process landed.
   */
  readonly defaultNameScope?: NameScope;
  readonly clock?: Clock;
  /** Modules of every host, in load order (the Lua runtime's own come first). */
  readonly modules: (system: ProcessSystem) => readonly LuaModuleSpec[];
  readonly print?: (text: string) => void;
  /** Limits of the host that runs function calls. */
  readonly functionLimits: HostLimits;
  /** The node's other threads, when a host runs on worker threads (see ThreadRouter). */
  readonly threads?: ThreadRouter;
  /**
   * The number of this system's next process (default: 1, 2, 3…); a worker thread's numbers
   * say which worker runs the process.
   */
  readonly ids?: () => number;
  /**
   * The thread whose function host runs this system's function calls, when it has none of its
   * own (a worker thread's); by default it runs them on a function host of its own.
   */
  readonly functionThread?: string;
  /**
   * How many processes host `hostId` runs on all of its threads, when this thread runs only
   * its share (a worker host's): `max_processes` holds for the whole host.
   */
  readonly hostWideCount?: (hostId: string) => HostWideCount | undefined;
}

/** ID of the implicit host that runs function.lua calls. */
export const FUNCTION_HOST = 'luact:functions';

/** The host part of the PIDs of inboxes TypeScript code owns (see `openInbox`). */
export const INBOX_HOST = 'luact:inbox';

const NO_CONTEXT: ReadonlyMap<string, Uint8Array> = new Map();
const PROCESS_KINDS: readonly string[] = ['process.lua'];

const TERMINATED = () => new LuactError('CANCELED', 'terminated', { retryable: false });

/**
 * The processes of one node: hosts, the local spawn, the one router of mail and signals, and
 * the exit rules of docs/concepts/processes.md. Remote PIDs go through the transport. Its parts
 * do the rest behind its methods: where a spawn runs (SpawnRouting), links and monitors
 * (LinksAndMonitors), names (ProcessNames), function calls (FunctionCalls) and the inboxes of
 * TypeScript code (Inboxes).
 */
export class ProcessSystem {
  readonly clock: Clock;
  private readonly processNames: ProcessNames;
  readonly transport: Transport;
  private readonly hosts = new Map<string, ProcessHost>();
  private readonly externals = new Map<string, ExternalHost>();
  /** Answers Lua processes wait for from external hosts. */
  readonly pending = new PendingAnswers();
  /**
   * The live processes of this node by the number in their PID (unique within the node), not
   * by the PID string, which every spawn would hash anew; a lookup by PID checks the whole PID.
   */
  private readonly processes = new LiveProcesses();
  private readonly endedElsewhere = new EndedElsewhere();
  private readonly inboxes: Inboxes;
  private readonly calls: FunctionCalls;
  private readonly linksAndMonitors: LinksAndMonitors;
  private readonly spawning: SpawnRouting;
  private readonly modules: readonly LuaModuleSpec[];
  /** Names of the modules every host's Lua code may list. */
  readonly moduleNames: ReadonlySet<string>;
  private nextId = 1;
  private readonly ids: (() => number) | undefined;
  private readonly threads: ThreadRouter | undefined;
  private closed = false;
  /** One handler for every process's end (not a closure per process). */
  private readonly exitHandler = (process: Process, outcome: GroupOutcome) =>
    this.onProcessExit(process, outcome);
  /**
   * Resolved host and entry references: spawns repeat the same few (and a process's entry ID
   * is then one string all its siblings share).
   */
  private readonly resolvedHosts = new ResolvedReferences();
  private readonly resolvedEntries = new ResolvedReferences();

  constructor(readonly options: ProcessSystemOptions) {
    this.clock = options.clock ?? systemClock();
    this.ids = options.ids;
    this.threads = options.threads;
    const resolveEntry = (reference: string, namespace: string | undefined) =>
      resolve(reference, namespace, 'entry');
    this.calls = new FunctionCalls({
      clock: this.clock,
      node: () => this.node,
      functionHostId: FUNCTION_HOST,
      functionHost: () => this.hosts.get(FUNCTION_HOST),
      resolveEntry,
      spawnFunction: ({ entry, args, context, caller, channel }) =>
        this.spawn({
          entry,
          ...this.callPlacement(entry),
          args,
          context,
          ...(caller ? { parent: caller } : {}),
          ...(channel !== undefined ? { outcomeChannel: channel } : {}),
        }),
      retryPolicyOf: (entry) => this.retryPolicyOf(entry),
      process: (pid) => this.processOf(pid),
      kill: (process, error) => this.kill(process, error),
      waitForExit: (pid) => this.waitForExit(pid),
      ...(options.threads !== undefined
        ? { callPlace: (entry, caller) => this.callPlace(entry, caller) }
        : {}),
      ...(options.threads?.invoke !== undefined
        ? {
            attemptOn: (thread, { entry, args, context, caller }) =>
              (options.threads as ThreadRouter).invoke?.(thread, {
                entry,
                args,
                context,
                caller: caller.pid,
              }) as Attempt,
          }
        : {}),
      // Another thread is reached like another node (a node with worker threads has no cluster).
      spawnRemote: (node, request) =>
        this.threads && isThreadOfThisNode(node, options.functionThread)
          ? this.threads.spawn(node, request)
          : this.transport.spawnRemote(node, request),
      signal: (signal) => this.signal(signal),
    });
    this.inboxes = new Inboxes({
      nextPid: () => this.newPid(INBOX_HOST, this.nextId++),
      whereIs: (pid) => {
        const route = this.route(pid);
        return route.kind === 'process'
          ? route.process
          : route.kind === 'remote' || route.kind === 'thread'
            ? 'remote'
            : undefined;
      },
      signal: (signal) => this.signal(signal),
    });
    this.linksAndMonitors = new LinksAndMonitors({
      clock: this.clock,
      route: (pid) => this.route(pid),
      process: (pid) => this.processOf(pid),
      processes: () => this.processes.values(),
      signal: (signal) => this.signal(signal),
      signalHere: (signal) => this.signalLocal(signal),
      inboxesLost: (gone, outcome, at) => this.inboxes.ended(gone, outcome, at),
      kill: (process, error) => this.kill(process, error),
    });
    this.processNames = new ProcessNames(
      {
        node: () => this.node,
        process: (pid) => this.processOf(pid),
        endedElsewhere: (pid) => this.endedElsewhere.has(pid),
        onOtherThread: (pid) => this.threads?.threadOf(pid) !== undefined,
        registerOnItsThread: (name, pid) => {
          const thread = this.threads?.threadOf(pid);
          return thread === undefined
            ? notAlive(pid)
            : (this.threads as ThreadRouter).registerInCluster(thread, name, pid);
        },
      },
      options.names,
      options.defaultNameScope ?? 'local',
      options.threads?.names,
    );
    this.transport = options.transport ?? new LocalTransport();
    this.spawning = new SpawnRouting({
      node: () => this.node,
      placement: options.placement,
      names: this.processNames,
      remote: new RemoteSpawns({
        transport: this.transport,
        names: this.processNames,
        resolveEntry,
      }),
      resolveHost: (reference, namespace) => this.resolveCached(reference, namespace, 'host'),
      resolveEntry,
      functionHostId: FUNCTION_HOST,
      isProcessHost: (id) => this.hosts.has(id),
      // A host of another thread of this node is one of the node's as well.
      isHostOfNode: (id) =>
        this.hosts.has(id) ||
        (this.threads !== undefined && isProcessHostEntry(this.snapshot().get(id)?.kind)),
      externalHost: (id) => this.externals.get(id),
      numberChild: (hostId) => {
        const id = this.ids === undefined ? this.nextId++ : this.ids();
        return { id, pid: this.newPid(hostId, id) };
      },
      spawnLocal: (request) => this.spawn(request),
      spawnNumbered: (request, id) => this.spawnNumbered(request, id),
      ...(this.threads ? { threads: this.threadSpawning(this.threads, resolveEntry) } : {}),
      watchExternal: (watcher, host, target) =>
        this.linksAndMonitors.watchExternal(watcher, host, target),
      linkExternal: (process, host, target) =>
        this.linksAndMonitors.linkExternal(process, host, target),
    });
    const receiver = {
      deliver: (envelope: Envelope) => this.receiveFromElsewhere(envelope),
      signal: (signal: Signal) => this.signalLocal(signal),
      spawn: (request: RemoteSpawnRequest) => this.spawning.spawnHere(localSpawnFor(request)),
    };
    this.transport.attach({
      deliver: receiver.deliver,
      signal: (signal) => this.signalFromNode(signal),
      spawn: (request) => this.spawnFromNode(request),
    });
    this.threads?.attach({
      ...receiver,
      held: (pid) => this.processOf(pid)?.mailbox.held(),
      placeDown: (place, onIt, error) => this.placeDown(place, onIt, error),
      cancel: (signal) => {
        const refused = this.signal(signal);
        return refused instanceof LuactError ? refused : undefined;
      },
      registerInCluster: (name, pid) => this.processNames.register(name, pid, 'cluster'),
    });
    options.names?.attach({
      revoked: (name, pid) =>
        forget(
          this.signal({
            kind: 'cancel',
            to: pid,
            from: undefined,
            at: this.clock.now(),
            reason: `name revoked: ${name}`,
          }),
        ),
    });
    this.modules = options.modules(this);
    this.moduleNames = new Set(this.modules.map((module) => module.name));
    if (options.functionThread === undefined) this.addHost(FUNCTION_HOST, options.functionLimits);
  }

  /** This node's name in a cluster (undefined when standalone). */
  get node(): string | undefined {
    return this.transport.identity?.node;
  }

  /**
   * PID `id` of `host` on this node. Its text up to the id is the same for every PID of a host
   * (the node and incarnation never change), so it is built once per host: spawning is hot.
   */
  private newPid(host: string, id: number): Pid {
    let prefix = this.pidPrefixes.get(host);
    if (prefix === undefined) {
      const sample = formatPid({ ...this.identityParts(), host, id: 0 });
      prefix = sample.slice(0, sample.lastIndexOf('|') + 1);
      this.pidPrefixes.set(host, prefix);
    }
    const pid = `${prefix}${id}}` as Pid;
    const last = this.lastPid;
    last.text = pid;
    last.prefix = prefix;
    last.number = id;
    return pid;
  }

  private readonly pidPrefixes = new Map<string, string>();
  /** The PID newPid made last, and its parts (one record, rewritten). */
  private readonly lastPid: { text: string; prefix: string; number: number; suffix: string } = {
    text: '',
    prefix: '',
    number: 0,
    suffix: '}',
  };

  /**
   * `pid` as its prefix, number and suffix, when it is the PID made last (a spawn's answer,
   * read back at once): written into Lua from those, its text is not read character by
   * character.
   */
  lastPidParts(pid: string): NumberedText | undefined {
    return pid === this.lastPid.text ? this.lastPid : undefined;
  }

  /** The node and incarnation this node's PIDs carry. */
  private identityParts(): Pick<PidParts, 'node' | 'incarnation'> {
    const identity = this.transport.identity;
    return { node: identity?.node, incarnation: identity?.incarnation };
  }

  snapshot(): RegistrySnapshot {
    return this.options.snapshot();
  }

  // ── Hosts ─────────────────────────────────────────────────────────────────────────────────

  /** Adds a process host; `thread` says how it runs on a worker thread (if it does). */
  addHost(id: string, limits: HostLimits, thread: HostThread = {}): ProcessHost {
    if (this.hosts.has(id)) throw new LuactError('ALREADY_EXISTS', `host ${id} already exists`);
    const { onSlice, sharedMemory } = thread;
    const host = ProcessHost.create(id, limits, {
      ...(onSlice ? { onSlice } : {}),
      ...(sharedMemory ? { sharedMemory } : {}),
      api: this.options.api,
      modules: this.modules,
      environment: { snapshot: () => this.snapshot(), env: this.options.env },
      clock: this.clock,
      ...(this.options.print ? { print: this.options.print } : {}),
    });
    host.wide = this.options.hostWideCount?.(id);
    this.hosts.set(id, host);
    return host;
  }

  /** Whether a process of this node is ready to run: the node is not idle yet. */
  processesBusy(): boolean {
    for (const host of this.hosts.values()) if (host.vm.busy) return true;
    return false;
  }

  host(id: string): ProcessHost | undefined {
    return this.hosts.get(id);
  }

  hostIds(): string[] {
    return [...this.hosts.keys()];
  }

  /**
   * The PIDs this system numbers from now on are past `id` (a host of worker threads moved
   * here: its PIDs are not handed out again); returns a number every PID numbered so far is
   * below.
   */
  numberPidsPast(id: number): number {
    this.nextId = Math.max(this.nextId, id);
    return this.nextId;
  }

  /** Routes spawns, messages and signals for `{id|…}` PIDs to `host` (a workflow host). */
  addExternalHost(id: string, host: ExternalHost): void {
    if (this.hosts.has(id) || this.externals.has(id))
      throw new LuactError('ALREADY_EXISTS', `host ${id} already exists`);
    this.externals.set(id, host);
  }

  removeExternalHost(id: string): void {
    this.externals.delete(id);
  }

  externalHost(id: string): ExternalHost | undefined {
    return this.externals.get(id);
  }

  /** The external host a PID belongs to, if it is one of theirs (and of this node). */
  private externalHostOf(pid: string): ExternalHost | undefined {
    if (this.externals.size === 0) return undefined;
    const parts = parsePid(pid);
    if (!parts || (parts.node !== undefined && parts.node !== this.node)) return undefined;
    return this.externals.get(parts.host);
  }

  /** A host reference as written by a process of `namespace` (or fully qualified), resolved. */
  resolveHostId(reference: string, namespace: string | undefined): EntryId {
    return this.resolveCached(reference, namespace, 'host');
  }

  /** An entry reference as written by a process of `namespace` (or fully qualified), resolved. */
  resolveEntryId(reference: string, namespace: string | undefined): EntryId {
    return resolve(reference, namespace, 'entry');
  }

  /** Terminates every process of a host and closes its VM. */
  removeHost(id: string): void {
    const host = this.hosts.get(id);
    if (!host) return;
    for (const process of this.processes.values())
      if (process.host === host) this.kill(process, TERMINATED());
    this.hosts.delete(id);
    host.close();
  }

  // ── Spawning ──────────────────────────────────────────────────────────────────────────────

  spawn(request: SpawnRequest): Pid {
    return this.spawnNumbered(request, this.ids === undefined ? this.nextId++ : this.ids());
  }

  /** Spawns on other threads, followed from here as a spawn on another node is. */
  private threadSpawning(
    threads: ThreadRouter,
    resolveEntry: (reference: string, namespace: string | undefined) => EntryId,
  ) {
    return {
      threadFor: (hostId: EntryId, spawner: Process | undefined) =>
        threads.threadForSpawn(hostId, spawner),
      spawns: new RemoteSpawns({
        transport: { spawnRemote: (thread, request) => threads.spawn(thread, request) },
        names: this.processNames,
        resolveEntry,
      }),
    };
  }

  /**
   * Where a function call of `entryId` runs: a function.lua on the function host; a process.lua
   * that names a default_host (a process function, as in Wippy) on that host.
   */
  private callPlacement(entryId: EntryId): {
    host: string;
    kinds: ['function.lua' | 'process.lua'];
  } {
    const entry = this.snapshot().get(entryId);
    const host = entry && processFunctionHost(entry);
    if (host === undefined) return { host: FUNCTION_HOST, kinds: ['function.lua'] };
    return { host: resolve(host, splitEntryId(entryId).namespace, 'host'), kinds: ['process.lua'] };
  }

  /**
   * Where a call made on this thread of a node with worker threads runs: a function.lua on the
   * function thread (a worker's: main; undefined: here), a process function on its host's
   * thread; NOT_FOUND when no entry has that ID.
   */
  private callPlace(entryId: EntryId, caller: Process) {
    if (!this.snapshot().get(entryId)) {
      const hint = didYouMeanEntry(this.snapshot(), entryId, ['function.lua', 'process.lua']);
      throw new LuactError('NOT_FOUND', `entry ${entryId} not found${hint}`, {
        retryable: false,
        details: { entry: entryId },
      });
    }
    const placement = this.callPlacement(entryId);
    const thread =
      placement.kinds[0] === 'function.lua'
        ? this.options.functionThread
        : this.threads?.threadForSpawn(placement.host as EntryId, caller);
    return { ...placement, thread };
  }

  /** `spawn`, the child numbered `id` (taken from nextId by the caller). */
  private spawnNumbered(request: SpawnRequest, id: number): Pid {
    const namespace = spawnNamespace(request);
    const hostId = this.resolveCached(request.host, namespace, 'host');
    const host = this.hosts.get(hostId);
    if (!host) {
      const entry = this.snapshot().get(hostId);
      // A host a registry change adds or moves between threads, not applied here yet.
      if (this.threads !== undefined && entry?.kind === 'process.host')
        throw new LuactError(
          'UNAVAILABLE',
          `process host ${hostId} is not running on this thread yet: a registry change that starts or moves it is being applied (try again)`,
        );
      throw new LuactError(
        'NOT_FOUND',
        entry
          ? `${hostId} is a ${entry.kind} entry, not a running process host`
          : `process host ${hostId} not found (no process.host entry with that ID)`,
        { retryable: false },
      );
    }
    const kinds = request.kinds ?? PROCESS_KINDS;
    // The node's function host runs function calls, for every process of the node: none can
    // place a process of its own there.
    if (hostId === FUNCTION_HOST && kinds[0] !== 'function.lua')
      throw new LuactError(
        'INVALID',
        `cannot spawn ${request.entry} on ${FUNCTION_HOST}: that host runs function.lua calls only (spawn it, or name as its meta.default_host, a process.host)`,
        { retryable: false },
      );
    const entryId = this.resolveCached(request.entry, namespace, 'entry');
    const entry = this.snapshot().get(entryId);
    if (!entry) {
      if (this.calls.isHostFunction(entryId))
        throw notOnThisThread(`TypeScript function ${entryId} is called from its own thread only`);
      const hint = didYouMeanEntry(this.snapshot(), entryId, kinds.filter(isKind));
      throw new LuactError('NOT_FOUND', `entry ${entryId} not found${hint}`, {
        retryable: false,
        details: { entry: entryId },
      });
    }
    if (!kinds.includes(entry.kind) || !isLuaEntry(entry)) {
      throw new LuactError(
        'INVALID',
        `cannot spawn ${entryId}: it is a ${entry.kind} entry, and host ${hostId} runs ${kinds.join(' or ')} entries`,
        { retryable: false },
      );
    }
    if ((host.wide?.count() ?? host.processCount) >= host.limits.max_processes)
      throw hostFull(hostId, host.limits.max_processes);
    const trapLinks = request.options === undefined ? false : spawnOptions(request.options);
    const tooLarge =
      checkArguments(request.args, entryId, host) ??
      checkContext(request.context, entryId, host) ??
      checkStartupMessages(request.messages, entryId, host);
    if (tooLarge) throw tooLarge;
    const prepared = host.prepare(entry);
    const pid = this.newPid(hostId, id);
    // Counted, then checked again: the host's other threads count at the same time as this
    // one, and none may take it past the limit (under such a race both may be refused).
    host.wide?.add(1);
    if (host.wide !== undefined && host.wide.count() > host.limits.max_processes) {
      host.wide.add(-1);
      throw hostFull(hostId, host.limits.max_processes);
    }
    if (request.name !== undefined) {
      const taken = this.processNames.registerSpawned(request.name, pid);
      if (taken) {
        host.wide?.add(-1);
        throw taken;
      }
    }
    const process = new Process(
      pid,
      id,
      host,
      entryId,
      request.context ?? NO_CONTEXT,
      this.exitHandler,
    );
    process.trapLinks = trapLinks;
    if (request.name !== undefined) process.names.add(request.name);
    for (const message of request.messages ?? []) {
      process.mailbox.deliver({
        to: pid,
        from: request.parent?.pid ?? request.remoteParent?.pid,
        topic: message.topic,
        payload: message.payload,
      });
    }
    const parent = request.parent;
    if (parent) {
      if (request.monitor) {
        process.monitors.add(parent.pid);
        parent.monitoring.add(pid);
      }
      if (request.link) {
        process.links.add(parent.pid);
        parent.links.add(pid);
      }
      if (request.outcomeChannel !== undefined) {
        process.outcomeWaiters.push({ process: parent, channel: request.outcomeChannel });
        parent.mailbox.expectResult(request.outcomeChannel);
      }
    }
    if (request.remoteParent) {
      const call = request.kinds !== undefined && request.kinds[0] === 'function.lua';
      this.linksAndMonitors.followedFromAfar(process, request.remoteParent, call);
    }
    host.processCount++;
    this.processes.add(process);
    const method = (entry.fields.method as string | undefined) ?? 'main';
    process.attach(host.vm.startGroup(process, prepared, method, request.args));
    return pid;
  }

  /** See SpawnRouting.spawnAnywhere. */
  spawnAnywhere(request: SpawnRequest): Pid | Promise<Pid> {
    return this.spawning.spawnAnywhere(request);
  }

  private resolveCached(
    reference: string,
    namespace: string | undefined,
    what: 'host' | 'entry',
  ): EntryId {
    const resolved = what === 'host' ? this.resolvedHosts : this.resolvedEntries;
    let id = resolved.get(reference, namespace);
    if (id === undefined) {
      id = resolve(reference, namespace, what);
      if (what === 'host' && !this.hosts.has(id) && !this.externals.has(id))
        id = this.hostOfQueue(reference) ?? id;
      // Only references to hosts and entries that exist: texts a process makes up must not
      // pile up here. (An entry removed since resolves to the same ID: the text decides.)
      const known =
        what === 'host'
          ? this.hosts.has(id) || this.externals.has(id)
          : this.snapshot().get(id) !== undefined;
      if (known) resolved.set(reference, namespace, id);
    }
    return id;
  }

  /** A plain call's retry policy: the function entry's `meta.options.retry`, when it has one. */
  private retryPolicyOf(entryId: EntryId): RetryPolicy | undefined {
    const options = this.snapshot().get(entryId)?.meta.options;
    const retry =
      options && typeof options === 'object' ? (options as { retry?: unknown }).retry : undefined;
    if (retry === undefined) return undefined;
    return readRetryPolicy(PLAIN_CALL_RETRY, retry, `${entryId} meta.options.retry`);
  }

  /** The workflow host a task-queue name (no namespace) stands for, as Temporal code names one. */
  private hostOfQueue(reference: string): EntryId | undefined {
    return reference.includes(':') ? undefined : workflowHostOfQueue(this.snapshot(), reference);
  }

  process(pid: string): Process | undefined {
    return this.processOf(pid);
  }

  /** The live processes of host `id`, oldest first. */
  processesOf(id: string): Process[] {
    const host = this.hosts.get(id);
    return host === undefined ? [] : this.list().filter((process) => process.host === host);
  }

  /** The live process of this node whose PID is `pid`. */
  private processOf(pid: string): Process | undefined {
    const process = this.processes.get(localNumber(pid));
    return process !== undefined && process.pid === pid ? process : undefined;
  }

  /** Every live process of this node, oldest first (for inspection). */
  list(): Process[] {
    return this.processes.values();
  }

  /**
   * A registered name (local first, then cluster) or a PID string, as a PID; an unknown name
   * is NOT_FOUND.
   */
  resolveDestination(destination: string): Pid {
    const tooLong = checkReference('destination', destination);
    if (tooLong) throw tooLong;
    if (looksLikePid(destination))
      return mayBeNameOnNode(destination) ? this.nameOnNode(destination) : (destination as Pid);
    const pid = this.processNames.resolve(destination);
    if (pid === undefined) throw unknownName(destination);
    return pid;
  }

  /**
   * A `{node@|name}` address: the holder of the local name for this node (NOT_FOUND when there
   * is none), else the address itself, which mail takes to its node to be resolved there.
   */
  private nameOnNode(destination: string): Pid {
    const named = parseNameOnNode(destination);
    if (named === undefined || named.node !== this.node) return destination as Pid;
    const holder = this.processNames.local.lookup(named.name);
    if (holder === undefined) throw noHolder(named.name, named.node);
    return holder;
  }

  /**
   * The node's services have started: mail from other nodes to a local name nobody holds is
   * no longer held back for a service to register it (see ProcessNames.holderSoon).
   */
  servicesStarted(): void {
    this.processNames.started();
  }

  /** The node begins to stop: mail to a local name nobody holds is left for its next run. */
  stopping(): void {
    this.processNames.stopping();
  }

  // ── Where mail goes: the one router of the node's address space ─────────────────────────

  /**
   * Where mail and signals for `pid` go, as this node sees it: a live process here, an inbox of
   * TypeScript code, a host that journals what it receives (a workflow host), another node, or
   * nowhere. Every send, signal and watch asks this, and nothing else decides.
   */
  route(pid: Pid): Route {
    const process = this.processOf(pid);
    return process ? { kind: 'process', process } : this.routeAway(pid);
  }

  /** route() for an address that is not a live process of this node. */
  private routeAway(pid: Pid): Exclude<Route, { kind: 'process' }> {
    const node = nodeOf(pid);
    if (node !== undefined && node !== this.node)
      return this.endedElsewhere.has(pid) ? { kind: 'nowhere' } : { kind: 'remote', node };
    const thread = this.threads?.threadOf(pid);
    if (thread !== undefined)
      return this.endedElsewhere.has(pid) ? { kind: 'nowhere' } : { kind: 'thread', thread };
    const receive = this.inboxes.receiverOf(pid);
    if (receive) return { kind: 'inbox', receive };
    const external = this.externalHostOf(pid);
    return external ? { kind: 'external', host: external } : { kind: 'nowhere' };
  }

  /**
   * Sends a message wherever its address leads: undefined once it is in a local mailbox, the
   * error that refused it (the sender sees it), or a promise for a journaled or remote receiver
   * that settles when the message is accepted.
   */
  send(envelope: Envelope): Delivery {
    const invalid = checkTopic(envelope.topic);
    if (invalid) return invalid;
    // The hot path, a live process of this node, allocates no route.
    const process = this.processOf(envelope.to);
    if (process) return this.deliverTo(process, envelope);
    const route = this.routeAway(envelope.to);
    switch (route.kind) {
      case 'remote':
        return this.transport.sendRemote(route.node, envelope);
      case 'thread':
        return (this.threads as ThreadRouter).send(route.thread, envelope);
      case 'inbox':
        route.receive(envelope);
        return undefined;
      case 'external':
        return route.host.send(envelope);
      case 'nowhere':
        return notAlive(envelope.to);
    }
  }

  /**
   * Mail another node sent to an address of this one. Mail to a name of this node nobody holds
   * waits while the node starts (its sender's later mail waits behind it) and is left for the
   * node's next run while it stops (see ProcessNames.holderSoon).
   */
  private receiveFromElsewhere(envelope: Envelope): Handing | Promise<Handing> {
    const named = mayBeNameOnNode(envelope.to) ? parseNameOnNode(envelope.to) : undefined;
    const here = named !== undefined && named.node === this.node;
    const soon = here ? this.processNames.holderSoon(named.name) : undefined;
    if (soon === undefined) {
      const holder = here ? this.processNames.local.lookup(named.name) : undefined;
      const thread = holder === undefined ? undefined : this.threads?.threadOf(holder);
      if (thread !== undefined) return this.handToHolder(thread, envelope, holder as Pid);
      return this.deliverFromElsewhere(envelope);
    }
    return soon === 'later' ? soon : soon.then(() => this.receiveFromElsewhere(envelope));
  }

  /**
   * Mail to a name of this node whose holder runs on another thread: handed to it there, with
   * that thread's verdict. A holder that ended before the mail reached it is told here after
   * the name's release (both come on that thread's link, in order), so the name decides
   * again: a new holder, or the node's next run while it stops (as on one thread).
   */
  private async handToHolder(thread: string, envelope: Envelope, holder: Pid): Promise<Handing> {
    try {
      await (this.threads as ThreadRouter).sendAsking(thread, { ...envelope, to: holder });
      return undefined;
    } catch (error) {
      const refused = LuactError.from(error);
      const named = parseNameOnNode(envelope.to);
      if (refused.kind !== 'NOT_FOUND' || named === undefined) return refused;
      if (this.processNames.local.lookup(named.name) === holder) return refused;
      return this.receiveFromElsewhere(envelope);
    }
  }

  /**
   * Its sender was told it was sent, so a refusal here goes back to the sender's node (see
   * `RefusalSignal`).
   */
  private deliverFromElsewhere(envelope: Envelope): Handing | Promise<Handing> {
    const refused = this.deliverLocal(envelope);
    // Forwarded to the thread of its receiver, which tells the sender of a refusal itself.
    if (refused instanceof Promise)
      return refused.then(
        () => undefined,
        (error: unknown) => LuactError.from(error),
      );
    const sender = envelope.from;
    if (refused && sender !== undefined) {
      if (this.elsewhere(sender)) {
        const { to: from, topic } = envelope;
        forget(this.signal({ kind: 'refused', to: sender, from, topic, error: refused }));
      }
    }
    return refused;
  }

  /**
   * Mail to an address of this node (workflows join with the cluster): mail another node sent
   * to a process of another thread (a worker's) is forwarded there.
   */
  private deliverLocal(envelope: Envelope): Delivery {
    const route = this.route(envelope.to);
    if (route.kind === 'process') return this.deliverTo(route.process, envelope);
    if (route.kind === 'thread') return (this.threads as ThreadRouter).send(route.thread, envelope);
    if (route.kind !== 'inbox') return this.deliverToName(envelope);
    route.receive(envelope);
    return undefined;
  }

  /** Mail to `{node@|name}` for this node goes to the holder of the local name. */
  private deliverToName(envelope: Envelope): LuactError | undefined {
    const named = parseNameOnNode(envelope.to);
    if (named === undefined || named.node !== this.node) return notAlive(envelope.to);
    const holder = this.processNames.local.lookup(named.name);
    const process = holder === undefined ? undefined : this.processOf(holder);
    if (process === undefined) return noHolder(named.name, named.node);
    return this.deliverTo(process, { ...envelope, to: process.pid });
  }

  /**
   * A signal from another node: to a process of another thread of this node (a worker's), it is
   * forwarded there (that thread keeps what it teaches); else it is taken here.
   */
  private signalFromNode(signal: Signal): void {
    const thread = this.threads?.threadOf(signal.to);
    if (thread === undefined) this.signalLocal(signal);
    else forget((this.threads as ThreadRouter).signal(thread, signal));
  }

  /**
   * A spawn another node asked for: onto a host of worker threads it runs on the worker the
   * host's placement picks, as a spawn from a process of this thread would.
   */
  private spawnFromNode(request: RemoteSpawnRequest): Pid | Promise<Pid> {
    const thread = this.threads?.threadForSpawn(request.host as EntryId, undefined);
    if (thread === undefined) return this.spawning.spawnHere(localSpawnFor(request));
    return (this.threads as ThreadRouter).spawn(thread, request);
  }

  private deliverTo(process: Process, envelope: Envelope): LuactError | undefined {
    const { origin } = envelope;
    // A workflow's send carried out again (it resumed elsewhere) was taken already: done.
    if (origin !== undefined && process.tookAlready(origin)) return undefined;
    const refused = messageRoom(process, envelope.topic, envelope.payload);
    if (refused) return refused;
    if (origin !== undefined) process.took(origin);
    process.mailbox.deliver(envelope);
    return undefined;
  }

  /**
   * Opens an inbox for TypeScript code (a caller waiting for a reply): processes send to its
   * PID like to any other, e.g. `process.send(msg:from(), …)`, and `receive` gets each message.
   * Its PID is numbered like a process's, so it is never reused within the node's lifetime.
   * `result` takes the outcomes of children spawned elsewhere that name the inbox as their
   * parent with a result channel (`RemoteParent.resultChannel`).
   */
  openInbox(
    receive: (envelope: Envelope) => void,
    result?: (channel: number, outcome: ExitOutcome) => void,
  ): Inbox {
    return this.inboxes.create(receive, result);
  }

  /**
   * Delivers a signal wherever its target's address leads, as `send` does a message: a cancel
   * or terminate for a workflow goes to its host (a promise), the end of a process it watched
   * never does (workflows watch through `watch`).
   */
  signal(signal: Signal): Delivery {
    if (!parsePid(signal.to))
      return new LuactError('INVALID', `"${signal.to}" is not a PID`, { retryable: false });
    const route = this.route(signal.to);
    switch (route.kind) {
      case 'remote':
        return this.transport.signalRemote(route.node, signal);
      case 'thread':
        return (this.threads as ThreadRouter).signal(route.thread, signal);
      case 'external':
        if (signal.kind === 'cancel' || signal.kind === 'terminate')
          return route.host.signal(signal);
        return notAlive(signal.to);
      case 'inbox':
      case 'nowhere':
        return notAlive(signal.to);
      case 'process':
        break;
    }
    // A cancel request is mail a process can send without end: it counts like a message.
    if (signal.kind === 'cancel') {
      const refused =
        checkReason(signal.reason) ??
        mailboxRoom(
          route.process,
          eventBytes(EVENT_KIND.cancel, eventDetails(signal)),
          'cancel request',
        );
      if (refused) return refused;
    }
    this.signalLocal(signal);
    return undefined;
  }

  private signalLocal(signal: Signal): void {
    if (signal.kind === 'exit' || signal.kind === 'link-down' || signal.kind === 'result') {
      if (this.elsewhere(signal.from)) this.endedElsewhere.ended(signal.from);
    }
    if (signal.kind === 'refused') {
      // Nothing to deliver: the sender's send had already returned. What it teaches is kept.
      // (Only a PID that names its node: a workflow's moves between nodes.)
      // Not a name's address either: its node's next holder of the name may be along soon.
      const pid = signal.from;
      const numbered = nodeOf(pid) !== undefined || this.threads?.threadOf(pid) !== undefined;
      if (signal.error.kind === 'NOT_FOUND' && numbered && !mayBeNameOnNode(pid))
        this.endedElsewhere.ended(pid);
      return;
    }
    const process = this.processOf(signal.to);
    if (!process || process.exited) {
      if (!this.inboxes.exitReached(signal)) this.linksAndMonitors.refuse(signal);
      return;
    }
    switch (signal.kind) {
      case 'monitor':
        process.monitors.add(signal.from);
        return;
      case 'demonitor':
        process.monitors.delete(signal.from);
        return;
      case 'link':
        process.links.add(signal.from);
        return;
      case 'unlink':
        process.links.delete(signal.from);
        return;
      case 'terminate':
        this.kill(process, signal.error ?? TERMINATED());
        return;
      case 'link-down':
        process.links.delete(signal.from);
        if (!process.trapLinks) {
          this.kill(
            process,
            linkFailure(signal.from, signal.outcome.ok ? undefined : signal.outcome.error),
          );
          return;
        }
        process.mailbox.deliverEvent(
          EVENT_KIND[signal.kind],
          signal.from,
          eventDetails({ ...signal, outcome: fitting(signal.outcome, signal.from, process) }),
        );
        return;
      case 'exit':
        process.monitoring.delete(signal.from);
        process.mailbox.deliverEvent(
          EVENT_KIND[signal.kind],
          signal.from,
          eventDetails({ ...signal, outcome: fitting(signal.outcome, signal.from, process) }),
        );
        return;
      case 'cancel':
        process.mailbox.deliverEvent(EVENT_KIND[signal.kind], signal.from, eventDetails(signal));
        return;
      case 'result':
        this.calls.settled(process.pid, signal.channel);
        deliverOutcome(process, signal.channel, signal.outcome, signal.from);
        return;
      default: {
        const unknown: never = signal;
        throw new Error(`unknown signal ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Whether `pid` is an address another node or another thread of this node runs. */
  private elsewhere(pid: Pid): boolean {
    const node = nodeOf(pid);
    if (node !== undefined && node !== this.node) return true;
    return this.threads !== undefined && this.threads.threadOf(pid) !== undefined;
  }

  /**
   * Ends a process with `error` (terminate, link cascade, timeouts): at once, or, when asked
   * while a kill is being made (by the end that kill causes), before the outer kill returns.
   */
  kill(process: Process, error: LuactError): void {
    if (process.exited || !process.group) return;
    this.kills.push({ process, error });
    // A kill that an end causes (a linked process, a function call ending with its caller) is
    // made by the loop below, after the end that caused it: made inside it, a chain of
    // thousands of such ends took as many nested calls, and overflowed the stack.
    if (this.killing) return;
    this.killing = true;
    // Every kill asked for is made, whatever one of them throws (an exit listener's bug): the
    // first such error is thrown once the others are made.
    let thrown: { readonly error: unknown } | undefined;
    // By index, not shift: a cascade of thousands of kills would copy the queue at each.
    for (let i = 0; i < this.kills.length; i++) {
      const { process: target, error } = this.kills[i] as (typeof this.kills)[number];
      if (target.exited || !target.group) continue;
      target.upgrade = undefined;
      try {
        target.host.vm.killGroup(target.group, encodeError(error));
      } catch (thrownByKill) {
        thrown ??= { error: thrownByKill };
      }
    }
    this.kills.length = 0;
    this.killing = false;
    if (thrown !== undefined) throw thrown.error;
  }

  /** Kills asked for while one is made (see kill), in the order asked. */
  private readonly kills: { readonly process: Process; readonly error: LuactError }[] = [];
  private killing = false;

  // ── Links and monitors (see LinksAndMonitors) ─────────────────────────────────────────

  /**
   * A node (that incarnation of it) is gone: what this node's processes and inboxes followed
   * there ends with "node down" (see LinksAndMonitors.nodeDown). The cluster calls it once per
   * node that its one serialized decision declared down.
   */
  nodeDown(down: NodeIdentity): void {
    this.endedElsewhere.nodeDown(down);
    this.linksAndMonitors.nodeDown(down);
  }

  /**
   * A place that ran processes of this node is gone without a word from them (a worker
   * thread): what this thread's processes and inboxes followed there ends with `error` (see
   * LinksAndMonitors.placeDown), and the PIDs `onIt` picks answer NOT_FOUND from now on.
   */
  placeDown(place: string, onIt: (pid: Pid) => boolean, error: LuactError): void {
    this.endedElsewhere.placeDown(place, onIt);
    this.linksAndMonitors.placeDown(onIt, error);
  }

  /** See LinksAndMonitors.link. */
  link(process: Process, other: Pid): Delivery {
    return this.linksAndMonitors.link(process, other);
  }

  unlink(process: Process, other: Pid): void {
    this.linksAndMonitors.unlink(process, other);
  }

  /** See LinksAndMonitors.monitor. */
  monitor(process: Process, other: Pid): Delivery {
    return this.linksAndMonitors.monitor(process, other);
  }

  unmonitor(process: Process, other: Pid): void {
    this.linksAndMonitors.unmonitor(process, other);
  }

  // ── Names ─────────────────────────────────────────────────────────────────────────────────

  /** This node's local names (what `process.registry` registers without a cluster scope). */
  get names(): NameRegistry {
    return this.processNames.local;
  }

  /** See ProcessNames.register. */
  registerName(name: string, pid: Pid, scope?: NameScope): Delivery {
    return this.processNames.register(name, pid, scope);
  }

  /** The PID registered as `name`, a local name first, then a cluster name; NOT_FOUND when none is. */
  lookupName(name: string): Pid | LuactError {
    return this.processNames.lookup(name);
  }

  /** See ProcessNames.unregister. */
  unregisterName(name: string, scope?: NameScope): Delivery {
    return this.processNames.unregister(name, scope);
  }

  // ── Exits ─────────────────────────────────────────────────────────────────────────────────

  private onProcessExit(process: Process, group: GroupOutcome): void {
    const upgrade = process.upgrade;
    if (upgrade && !this.closed) {
      process.upgrade = undefined;
      if (this.restart(process, upgrade.entry, upgrade.args)) return;
    }
    const outcome = exitOutcome(group);
    process.exited = true;
    process.host.processCount--;
    process.host.wide?.add(-1);
    this.processes.delete(process);
    this.threads?.processEnded?.(process.pid);
    const relations = process.existingRelations;
    this.processNames.released(process, relations?.names);
    if (relations === undefined) return;
    this.linksAndMonitors.ended(process, relations, outcome);
    for (const waiter of relations.outcomeWaiters)
      deliverOutcome(waiter.process, waiter.channel, outcome, `${process.entry} (${process.pid})`);
    const listeners = [...relations.exitListeners];
    relations.exitListeners.clear();
    for (const listener of listeners) listener(outcome);
  }

  /** process.upgrade: the same process (PID, mailbox, links, names) runs new code. */
  private restart(process: Process, entryId: EntryId, args: Uint8Array): boolean {
    const entry = this.snapshot().get(entryId);
    if (entry?.kind !== 'process.lua') return false;
    try {
      const prepared = process.host.prepare(entry);
      process.entry = entryId;
      const method = (entry.fields.method as string | undefined) ?? 'main';
      process.attach(process.host.vm.startGroup(process, prepared, method, args));
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves with how the process ended (immediately if it already has). */
  waitForExit(pid: Pid): Promise<ExitOutcome> {
    const process = this.processOf(pid);
    if (!process) return Promise.reject(notAlive(pid));
    return new Promise((resolve) => process.exitListeners.add(resolve));
  }

  // ── Function calls ────────────────────────────────────────────────────────────────────────

  registerFunction(id: string, fn: HostFunctionEntry): void {
    this.calls.register(id, fn);
  }

  /**
   * Calls a function entry for `caller`: a TypeScript host function runs here; a function.lua
   * runs as a process of the function host (or of another node's, with `node`), ending with
   * its caller. The outcome goes to the caller's fed channel `channel`. Returns an ID to cancel
   * the call.
   */
  call(request: FunctionCallRequest): string {
    return this.calls.call(request);
  }

  /**
   * Runs a function entry for TypeScript code (a workflow's activity): a function.lua as a
   * process of the function host, or a registered TypeScript function. `cancel` ends it with a
   * CANCELED error; `timeoutMs` with TIMEOUT.
   */
  invoke(request: FunctionInvocation): Invocation {
    return this.calls.invoke(request);
  }

  /**
   * Cancels the function call `id` that `caller` made: the ID comes from Lua (a future's
   * field, which the script can overwrite), so a call of anyone else's is not touched.
   */
  cancelCall(id: string, caller: Process): boolean {
    return this.calls.cancel(id, caller);
  }

  // ── Shutdown ──────────────────────────────────────────────────────────────────────────────

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.processNames.stopping();
    for (const id of [...this.hosts.keys()]) this.removeHost(id);
  }
}

/** Whether an entry of `kind` is a host of Lua processes. */
function isProcessHostEntry(kind: string | undefined): boolean {
  return kind === 'process.host' || kind === 'terminal.host';
}

/**
 * Whether `node` names a thread of this node rather than a node of a cluster: the function
 * thread, or a worker (`host#w`: `#` is in no node name).
 */
function isThreadOfThisNode(node: string, functionThread: string | undefined): boolean {
  return node === functionThread || node.includes('#');
}

/** A spawn onto host `hostId`, which runs its limit of `max` processes. */
function hostFull(hostId: string, max: number): LuactError {
  return new LuactError(
    'RATE_LIMITED',
    `host ${hostId} is full: it runs its limit of ${max} processes`,
  );
}

/** What the node's threads do not carry yet (a host with workers > 1: see ThreadRouter). */
function notOnThisThread(what: string): LuactError {
  return new LuactError('UNAVAILABLE', `not supported yet: ${what} (a host with workers > 1)`, {
    retryable: false,
  });
}

function resolve(reference: string, namespace: string | undefined, what: string): EntryId {
  const resolved =
    namespace === undefined ? parseReference(reference) : resolveReference(reference, namespace);
  if (!resolved.ok)
    throw new LuactError('INVALID', `invalid ${what} ID: ${resolved.error}`, { retryable: false });
  return resolved.value;
}

function parseReference(reference: string) {
  return reference.includes(':')
    ? resolveReference(reference, 'unused')
    : ({ ok: false, error: `"${reference}" needs a namespace (namespace:name)` } as const);
}

/** Options of a process spawn; anything unknown is an error rather than silently ignored. */
function spawnOptions(options: Readonly<Record<string, unknown>> | undefined): boolean {
  let trapLinks = false;
  for (const [key, value] of Object.entries(options ?? {})) {
    if (key === 'trap_links' && typeof value === 'boolean') trapLinks = value;
    // This node, named: spawnAnywhere already checked it.
    else if (key === 'node' && typeof value === 'string') continue;
    else
      throw new LuactError('INVALID', `unknown or invalid spawn option "${shorten(key)}"`, {
        retryable: false,
      });
  }
  return trapLinks;
}
