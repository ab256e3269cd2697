import { watch } from 'node:fs';
import path from 'node:path';
import { err, formatDuration, LuactError, ok, type Result } from '@luact/core';
import {
  type Clock,
  decodeValue,
  type LogRecord,
  type LuaApi,
  loadLuaApi,
  systemClock,
} from '@luact/lua';
import {
  type ClusterLogRecord,
  ClusterNode,
  type NatsConnection,
  type OpsEndpoint,
  type View,
} from '@luact/nats';
import {
  type EnvBackend,
  EventBus,
  type ExitOutcome,
  envVariablesOf,
  FUNCTION_HOST,
  type HostFunctionEntry,
  type HostLimits,
  type NameScope,
  type NodeIdentity,
  type Pid,
  ProcessSystem,
  parseNameScope,
  type Transport,
} from '@luact/process';
import {
  activateEntry,
  type ChangeSet,
  type Diagnostic,
  didYouMeanEntry,
  diffDefinitions,
  type Entry,
  type EntryChange,
  type Environment,
  entryCallProblems,
  hasErrors,
  loadApplication,
  type Plan,
  planChanges,
  Registry,
  type RegistryEvent,
  type RegistrySnapshot,
  readApplication,
  sortDiagnostics,
} from '@luact/registry';
import { ServiceManager, type ServiceStatus } from '@luact/supervisor';
import { encodeArguments } from './arguments.js';
import { type CallOptions, Calls } from './calls.js';
import { checkLuaEntries } from './check.js';
import { serveOps } from './control/ops-routes.js';
import { type ControlRoutes, ControlServer } from './control/server.js';
import { DEFAULT_NODE_NAME } from './control/socket-path.js';
import { type NodeView, type ProcessView, processView, serviceView } from './control/views.js';
import { workflowRoutes } from './control/workflow-routes.js';
import { DEFAULT_LIMITS } from './limits.js';
import { nodeModules } from './modules.js';
import { NatsConnections, type NodeNatsOption } from './nats-connections.js';
import { NodeIdle } from './node-idle.js';
import { type PlacementRule, SpreadPlacement } from './placement.js';
import { announceRegistryChanges } from './registry-events.js';
import { registryOf } from './registry-module/module.js';
import { processConsole, type TerminalConsole } from './terminal/console.js';
import { MainThreadServices } from './workers/main-services.js';
import { NodeWorkers } from './workers/node-workers.js';
import {
  planWorkers,
  type WorkerHost,
  workerHostChanges,
  workerHostOf,
  workersByDefault,
} from './workers/worker-plan.js';
import { NodeWorkflows } from './workflows.js';

/** The kinds of entry `Node.run` (and `luact run --exec`) runs. */
const RUNNABLE_KINDS = ['process.lua', 'function.lua', 'workflow.lua'] as const;

/** The host `Node.run` and `luact test` start processes on. */
export const MAIN_HOST = 'luact:main';

export interface NodeOptions {
  /** The application directory: its YAML registry and Lua sources. */
  readonly dir: string;
  /** Resolves `${env:…}` placeholders and env.variable entries (default: process.env). */
  readonly env?: Environment;
  readonly clock?: Clock;
  readonly transport?: Transport;
  /** Where `logger.*` records go (default: dropped). */
  readonly log?: (record: LogRecord) => void;
  /** Where Lua `print` goes (default: stdout). */
  readonly print?: (text: string) => void;
  /**
   * The console that processes on terminal.host entries own through `io` (default: this
   * Node.js process's stdin, stdout and stderr, with no arguments).
   */
  readonly console?: TerminalConsole;
  /** A Lua WebAssembly module to share with other nodes in this process. */
  readonly api?: LuaApi;
  /** Where the node keeps its state (file journals): default `<dir>/.luact`. */
  readonly stateDir?: string;
  /**
   * The hooks luact's own tests use (the `luact_test` module: freeze a worker thread); the
   * CLI sets it when LUACT_TEST_HOOKS=1. Not for applications.
   */
  readonly testHooks?: boolean;
  /**
   * Workflow timers fire as soon as a run waits for nothing else, moving workflow time on
   * (`luact test --time-skip`): a `time.sleep("24h")` takes no real time.
   */
  readonly timeSkip?: boolean;
  /**
   * The node's cluster connection (`luact run --nats`): NATS servers (with auth or TLS if
   * needed), or `{ entry }` naming a nats.connection entry of the application. Opened at
   * start (an unreachable cluster fails the start); every workflow host with neither a
   * journal backend nor a connection of its own then journals to JetStream on it.
   */
  readonly nats?: NodeNatsOption;
  /**
   * Joins the cluster on the `nats` connection as a node of this name (`luact run --nats …
   * --node NAME`): its PIDs name it and its incarnation, its processes reach those of the other
   * nodes, and they learn when another node goes down.
   */
  readonly cluster?: ClusterSettings;
  /**
   * Worker threads of the node's main host and of every process.host whose entry sets no
   * `workers` (default: the LUACT_WORKERS environment variable of this Node.js process, else 1).
   */
  readonly workers?: number;
}

/** A node's place in a cluster. */
export interface ClusterSettings {
  /** The node's name in the cluster: letters, digits, `_` and `-`; unique among running nodes. */
  readonly name: string;
  /** Replicas of the cluster's streams: 1, or 3 on a NATS cluster. Default 1. */
  readonly replicas?: number;
  /**
   * Where a process's spawn that names no node runs: `local` (here, the default) or `spread`
   * (round robin over the members, this node included; a spawn with a name stays here). With
   * `spread` the cluster is one node to the application: a name registered without a scope is
   * a cluster name.
   */
  readonly placement?: PlacementRule;
  /** Liveness timing (ms): beats, down after, self-fence after; defaults 1000, 4000, 2500. */
  readonly liveness?: {
    readonly heartbeatMs?: number;
    readonly downAfterMs?: number;
    readonly fenceAfterMs?: number;
  };
  /**
   * How long a send to another node may wait for JetStream to store it before it fails
   * UNAVAILABLE (ms; default 15,000, at most 60,000). Longer rides out slower leader elections.
   */
  readonly sendTimeoutMs?: number;
}

/** How `Node.run` may end a run before the entry does. */
export interface RunOptions {
  /** Ends the run with TIMEOUT after this long (on the node's clock). */
  readonly timeoutMs?: number;
  /** Ends the run with the signal's reason (a LuactError; anything else is CANCELED). */
  readonly signal?: AbortSignal;
  /**
   * A workflow run ended early (timeout or signal) stays unfinished in its journal and
   * resumes when the node starts again; by default it is terminated, so no run is left behind
   * that nobody waits for.
   */
  readonly keepWorkflow?: boolean;
  /**
   * The host a process.lua entry runs on: a process.host or terminal.host (default: the
   * node's main host; see `consoleHost`).
   */
  readonly host?: string;
}

/** Where `Node.spawn` starts a process or workflow, and under which name. */
export interface SpawnOptions {
  /** The process.host or workflow.host to run on (default: the node's main host). */
  readonly host?: string;
  /**
   * A name to register for the process before its first step, so messages and calls to the
   * name reach it as soon as spawn returns (ALREADY_EXISTS if taken). Released when it ends.
   */
  readonly name?: string;
  /**
   * The scope of `name`: `local` (this node) or `cluster` (one holder in the cluster, known to
   * every node). Default: the node's (`cluster` with placement `spread`, else `local`).
   */
  readonly nameScope?: NameScope;
}

/** The end of a run: the value of the entry's method, or its error. */
export type RunOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: LuactError };

/** Raised when an application cannot start; `details.diagnostics` lists every problem. */
export class ApplicationError extends LuactError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super('INVALID', problemCount(diagnostics.filter((d) => d.severity === 'error').length), {
      retryable: false,
      details: { diagnostics },
    });
  }
}

/** How a node stopped: `clean` unless some service had to be terminated after its stop_timeout. */
export interface StopResult {
  readonly clean: boolean;
  /** The services that did not end within their stop_timeout. */
  readonly terminated: readonly string[];
  readonly services: readonly ServiceStatus[];
}

/**
 * A luact node: one application's registry, its process hosts, the function host, the process
 * system between them, and the services it supervises. Several nodes can live in one Node.js
 * process.
 */
export class Node {
  readonly system: ProcessSystem;
  /** The process.service and top-level process.supervisor entries, as defined at start. */
  readonly services: ServiceManager;
  /**
   * The worker threads of the hosts with `workers` > 1, and the links between the node's
   * threads; undefined when every host runs on the main thread.
   */
  readonly workers: NodeWorkers | undefined;
  /** The workflow hosts and their journals (set once start() has recovered them). */
  workflows!: NodeWorkflows;
  /** The node's event bus (the Lua `events` module; registry changes are announced on it). */
  readonly events = new EventBus();
  private readonly startedAt = new Date();
  private watcher: ReturnType<typeof watch> | undefined;
  private control: ControlServer | undefined;
  /** The read-only control routes on NATS, on a cluster node. */
  private ops: OpsEndpoint | undefined;
  private stopping: Promise<StopResult> | undefined;
  private readonly calls: Calls;
  private sharedEnv: EnvBackend | undefined;
  /** The registry as the registry module of every thread reads and changes it. */
  private readonly registryBackend = registryOf(() => this);
  private halt: (reason: LuactError) => void = () => {};
  private readonly idle: NodeIdle;
  /**
   * Settles when the node must stop on its own account (it was expelled from its cluster), with
   * why: whoever runs it stops it then.
   */
  readonly halted = new Promise<LuactError>((resolve) => {
    this.halt = resolve;
  });

  private constructor(
    readonly dir: string,
    readonly registry: Registry,
    readonly env: Environment,
    private startWarnings: readonly Diagnostic[],
    api: LuaApi,
    options: NodeOptions,
    clock: Clock,
    private readonly connections: NatsConnections,
    private readonly cluster: ClusterNode | undefined,
    workers: NodeWorkers | undefined,
  ) {
    this.workers = workers;
    this.idle = new NodeIdle(workers);
    this.system = new ProcessSystem({
      api,
      snapshot: () => registry.snapshot,
      env,
      clock,
      ...(cluster
        ? { transport: cluster.transport, names: cluster.names }
        : options.transport
          ? { transport: options.transport }
          : {}),
      ...(cluster && options.cluster?.placement === 'spread'
        ? {
            placement: new SpreadPlacement(() => Object.keys(cluster.view.members)),
            defaultNameScope: 'cluster' as const,
          }
        : {}),
      modules: (system) =>
        nodeModules(system, {
          ...(options.log ? { log: options.log } : {}),
          events: this.events,
          env: this.envVariables(system),
          services: () => this.services,
          registry: this.registryBackend,
          terminal: {
            console: options.console ?? processConsole(),
            isTerminalHost: (id) => registry.snapshot.get(id)?.kind === 'terminal.host',
          },
          ...(options.testHooks ? { testHooks: 'main' as const } : {}),
        }),
      print: options.print ?? ((text: string) => process.stdout.write(`${text}\n`)),
      functionLimits: DEFAULT_LIMITS,
      ...(workers !== undefined ? { threads: workers.router } : {}),
    });
    this.services = new ServiceManager({
      system: this.system,
      snapshot: registry.snapshot,
      env,
      clock: this.system.clock,
      ...(options.log ? { log: options.log } : {}),
    });
    this.calls = new Calls(this.system);
    workers?.serve(
      new MainThreadServices({
        env: this.envVariables(this.system),
        events: this.events,
        services: () => this.services,
        invoke: (request) => this.system.invoke(request),
        workflowHost: (id) => this.system.externalHost(id),
        registry: this.registryBackend,
        post: (thread, record) => workers.router.linkTo(thread)?.post(record),
      }),
    );
    registry.subscribe((event) => this.applyHostChanges(event));
    registry.subscribe((event) => announceRegistryChanges(this.events, event));
    if (workers) registry.subscribe((event) => workers.registryChanged(event.snapshot));
  }

  /**
   * Loads and checks the application (registry and Lua sources: every problem at once) and
   * starts its hosts; services wait for `startServices`. Throws ApplicationError listing all
   * problems when anything is wrong.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const env = options.env ?? process.env;
    const loaded = await loadApplication(options.dir, { env });
    if (!loaded.snapshot) throw new ApplicationError(loaded.diagnostics);
    const registry = new Registry(loaded.snapshot);
    const api = options.api ?? (await loadLuaApi());
    // The node's own clock (none injected) is the wall clock its worker threads count from too.
    const wallClock = systemClock();
    const clock = options.clock ?? wallClock;
    // An unknown entry ID in a call warns: the call may sit in a branch that never runs.
    const warnings = sortDiagnostics([
      ...loaded.diagnostics,
      ...entryCallProblems(registry.snapshot, 'warning'),
    ]);
    const connections = new NatsConnections({
      snapshot: () => registry.snapshot,
      env,
      dir: loaded.dir,
      log: options.log,
      nats: options.nats,
    });
    let cluster: ClusterNode | undefined;
    let connection: NatsConnection | undefined;
    try {
      // Opened first, so an unreachable cluster fails the start at once.
      connection = await connections.cluster();
      if (options.cluster && !connection) {
        throw new LuactError('INVALID', 'a cluster node needs a NATS connection (--nats)', {
          retryable: false,
        });
      }
      if (options.cluster && connection)
        cluster = await joinCluster(connection, options.cluster, registry, options.log);
    } catch (error) {
      await connections.close();
      throw error;
    }
    const threads = planWorkers(
      registry.snapshot,
      env,
      workersByDefault(options.workers, !options.clock),
    );
    let workers: NodeWorkers | undefined;
    if (threads.hosts.length > 0) {
      const refused = workersRefused(options, threads.hosts[0]?.id as string);
      if (refused) {
        await cluster?.leave();
        await connections.close();
        throw refused;
      }
      workers = new NodeWorkers(
        threads,
        {
          print: options.print ?? ((text: string) => process.stdout.write(`${text}\n`)),
          ...(options.log ? { log: options.log } : {}),
        },
        options.testHooks === true,
        cluster && {
          identity: cluster.identity,
          transport: cluster.transport,
          names: cluster.names,
          now: () => clock.now(),
          ...(options.cluster?.placement === 'spread'
            ? {
                spread: {
                  members: () => Object.keys(cluster.view.members),
                  follow: (listener: () => void) => cluster.membership.onView(listener),
                },
              }
            : {}),
        },
      );
    }
    const node = new Node(
      loaded.dir,
      registry,
      env,
      sortDiagnostics([...warnings, ...threads.warnings]),
      api,
      options,
      clock,
      connections,
      cluster,
      workers,
    );
    cluster?.attach({
      nodeDown: (down) => {
        node.system.nodeDown(down);
        node.workers?.nodeDown(down);
      },
      expelled: () =>
        node.halt(
          new LuactError(
            'UNAVAILABLE',
            `node ${cluster.identity.node} was declared down by its cluster (cut off from NATS too long); it must start again to rejoin`,
          ),
        ),
    });
    const checked = node.checkLua(registry.snapshot);
    const problems = checked.filter((d) => d.severity === 'error');
    if (problems.length > 0) {
      await workers?.stop();
      node.system.close();
      await node.leaveCluster();
      throw new ApplicationError(sortDiagnostics([...warnings, ...checked]));
    }
    node.startWarnings = sortDiagnostics([...warnings, ...threads.warnings, ...checked]);
    if (!workers?.runs(MAIN_HOST)) node.system.addHost(MAIN_HOST, DEFAULT_LIMITS);
    for (const kind of PROCESS_HOST_KINDS) {
      for (const entry of registry.snapshot.ofKind(kind)) node.startHost(entry);
    }
    try {
      await workers?.start(
        registry.snapshot,
        env,
        registry.snapshot.ofKind('workflow.host').map((entry) => entry.id),
        // A node with worker threads has no injected clock (workersRefused).
        wallClock.anchor,
      );
      node.workflows = await NodeWorkflows.start({
        snapshot: () => registry.snapshot,
        system: node.system,
        api,
        env,
        clock: node.system.clock,
        dir: loaded.dir,
        stateDir: path.resolve(loaded.dir, options.stateDir ?? '.luact'),
        timeSkip: options.timeSkip === true,
        ...(options.log ? { log: options.log } : {}),
        ...(options.print ? { print: options.print } : {}),
        connections,
        ...(cluster && connection ? { cluster: { node: cluster, connection } } : {}),
      });
    } catch (error) {
      await workers?.stop();
      node.system.close();
      await node.leaveCluster();
      throw error;
    }
    const clusterConnection = await connections.cluster();
    if (cluster && clusterConnection) {
      const name = cluster.identity.node;
      node.ops = serveOps(clusterConnection, name, node.inspectionRoutes(name));
    }
    return node;
  }

  /** The node's env variables and their storages: one set for every thread's processes. */
  private envVariables(system: ProcessSystem): EnvBackend {
    this.sharedEnv ??= envVariablesOf(system);
    return this.sharedEnv;
  }

  /** Compiles and checks Lua entries (only the `changed` ones, if given). */
  /** What lint would warn about when the node started (the registry's and the Lua checks'). */
  get warnings(): readonly Diagnostic[] {
    return this.startWarnings;
  }

  /** Problems of the Lua entries: errors keep the application from starting, warnings do not. */
  private checkLua(snapshot: RegistrySnapshot, changed?: ReadonlySet<string>): Diagnostic[] {
    return checkLuaEntries(snapshot, this.system, changed);
  }

  /**
   * Starts the `auto_start` services (or the given ones) and what they depend on, in
   * dependency order, and resolves once each has settled (running, done, failed, or waiting
   * behind a dependency that failed).
   */
  startServices(ids?: readonly string[]): Promise<ServiceStatus[]> {
    return this.services.start(ids).then((statuses) => {
      // Their names are registered: mail to a name nobody holds is not held back any more.
      this.system.servicesStarted();
      return statuses;
    });
  }

  // ── Running code ──────────────────────────────────────────────────────────────────────────

  /**
   * Starts `entry` on a host (default: the node's main host), given by its ID or in `options`
   * with a name: a process (its name registered before it runs), or on a workflow host a
   * workflow (the name is its workflow ID). Resolves with the PID once it is started: at once
   * for a process, once the start is journaled for a workflow. A host a registry change adds
   * or changes is spawned on once the change is applied.
   */
  async spawn(
    entry: string,
    args: readonly unknown[] = [],
    options: string | SpawnOptions = {},
  ): Promise<Pid> {
    await this.workers?.hostChangesApplied();
    const {
      host = MAIN_HOST,
      name,
      nameScope,
    } = typeof options === 'string' ? ({ host: options } as SpawnOptions) : options;
    const scope = nameScope === undefined ? undefined : parseNameScope(nameScope);
    if (scope instanceof LuactError) throw scope;
    return this.system.spawnAnywhere({
      entry,
      host,
      args: encodeArguments(args, `the arguments of ${entry}`),
      ...(name !== undefined ? { name } : {}),
      ...(scope !== undefined ? { nameScope: scope } : {}),
    });
  }

  /**
   * Runs a process.lua entry to its end (on the main host), or calls a function.lua entry,
   * and returns its value or error. A run ended early (see RunOptions) has its process killed
   * with the reason, which is then its error. As `spawn`, it waits for a host change under way.
   */
  async run(
    entryId: string,
    args: readonly unknown[] = [],
    options: RunOptions = {},
  ): Promise<RunOutcome> {
    await this.workers?.hostChangesApplied();
    const refused = this.whyNotRunnable(entryId);
    if (refused) throw refused;
    const entry = this.registry.snapshot.get(entryId) as Entry;
    if (entry.kind === 'workflow.lua') return this.runWorkflow(entry, args, options);
    const host = entry.kind === 'function.lua' ? FUNCTION_HOST : (options.host ?? MAIN_HOST);
    const kinds = entry.kind === 'function.lua' ? ['function.lua'] : ['process.lua'];
    if (this.workers?.runs(host)) return this.runOnWorker(entryId, host, args, options);
    const pid = this.system.spawn({
      entry: entryId,
      host,
      args: encodeArguments(args, `the arguments of ${entryId}`),
      kinds,
    });
    const exit = this.system.waitForExit(pid);
    const early = this.earlyEnd(entryId, options);
    void early.reason.then((error) => {
      const running = this.system.process(pid);
      if (running) this.system.kill(running, error);
    });
    const outcome = await exit;
    early.dispose();
    return outcome.ok ? { ok: true, value: decodeValue(outcome.value) } : outcome;
  }

  /**
   * `run` on a host of worker threads: the process runs on one of them, its outcome comes back
   * to an inbox here; an early end terminates it.
   */
  private async runOnWorker(
    entryId: string,
    host: string,
    args: readonly unknown[],
    options: RunOptions,
  ): Promise<RunOutcome> {
    let ended!: (outcome: ExitOutcome) => void;
    const exit = new Promise<ExitOutcome>((resolve) => {
      ended = resolve;
    });
    const inbox = this.system.openInbox(
      () => {},
      (_, outcome) => ended(outcome),
    );
    const early = this.earlyEnd(entryId, options);
    try {
      const pid = await this.system.spawnAnywhere({
        entry: entryId,
        host,
        args: encodeArguments(args, `the arguments of ${entryId}`),
        remoteParent: { pid: inbox.pid, monitor: false, link: false, resultChannel: 1 },
      });
      const first = await Promise.race([exit, early.reason]);
      if (!(first instanceof LuactError))
        return first.ok ? { ok: true, value: decodeValue(first.value) } : first;
      this.system.signal({ kind: 'terminate', to: pid, from: undefined });
      return { ok: false, error: first };
    } finally {
      early.dispose();
      inbox.close();
    }
  }

  /**
   * Why `run` cannot run `entryId`, or undefined when it can: no such entry (with the one
   * likely meant), a kind `run` does not take, or a workflow with no host to run on. Callers
   * ask before starting services, so a typo fails at once.
   */
  whyNotRunnable(entryId: string): LuactError | undefined {
    const snapshot = this.registry.snapshot;
    const entry = snapshot.get(entryId);
    if (!entry) {
      return new LuactError(
        'NOT_FOUND',
        `entry ${entryId} not found${didYouMeanEntry(snapshot, entryId, RUNNABLE_KINDS)}`,
        { retryable: false },
      );
    }
    if (!(RUNNABLE_KINDS as readonly string[]).includes(entry.kind)) {
      return new LuactError(
        'INVALID',
        `${entryId} is a ${entry.kind}; only process.lua, function.lua and workflow.lua entries run`,
        { retryable: false },
      );
    }
    if (entry.kind === 'workflow.lua') {
      try {
        this.workflows.hostFor(entry);
      } catch (error) {
        return LuactError.from(error);
      }
    }
    return undefined;
  }

  /**
   * The host `luact run --exec` runs `entryId` on so that it owns the console: `requested`
   * (a terminal.host or process.host), else the application's only terminal.host; undefined
   * when the entry is no process.lua or the application has no terminal.host (it runs on the
   * main host). Several terminal hosts and none requested is an error naming them.
   */
  consoleHost(entryId: string, requested?: string): string | undefined | LuactError {
    const snapshot = this.registry.snapshot;
    const isProcess = snapshot.get(entryId)?.kind === 'process.lua';
    if (requested !== undefined) {
      const host = snapshot.get(requested);
      if (!isProcess) {
        return new LuactError(
          'INVALID',
          `--host applies to process.lua entries; ${entryId} is a ${snapshot.get(entryId)?.kind ?? 'missing entry'}`,
          { retryable: false },
        );
      }
      if (host === undefined || !isProcessHost(host)) {
        return new LuactError(
          'INVALID',
          host === undefined
            ? `--host ${requested}: no such entry${didYouMeanEntry(snapshot, requested, PROCESS_HOST_KINDS)}`
            : `--host ${requested} is a ${host.kind}; a process runs on a terminal.host or a process.host`,
          { retryable: false },
        );
      }
      return requested;
    }
    if (!isProcess) return undefined;
    const terminals = snapshot.ofKind('terminal.host').map((entry) => entry.id);
    if (terminals.length <= 1) return terminals[0];
    return new LuactError(
      'INVALID',
      `the application has ${terminals.length} terminal hosts (${terminals.join(', ')}): name the one ${entryId} runs on with --host`,
      { retryable: false },
    );
  }

  /**
   * Starts a workflow.lua entry on its workflow host and waits for its end. Ended early, the
   * run is terminated (journaled: the limit is the caller's, not the workflow's) unless
   * `keepWorkflow`; the error says which, with the run's PID in `details.workflow`.
   */
  private async runWorkflow(
    entry: Entry,
    args: readonly unknown[],
    options: RunOptions,
  ): Promise<RunOutcome> {
    const host = this.workflows.hostFor(entry);
    const pid = await host.start({
      entry: entry.id,
      args: encodeArguments(args, `the arguments of ${entry.id}`),
      context: {},
      messages: [],
      conflict: 'use_existing',
    });
    const ended = new Promise<RunOutcome>((resolve, reject) => {
      host
        .watch(pid, (outcome) =>
          resolve(outcome.ok ? { ok: true, value: decodeValue(outcome.value) } : outcome),
        )
        .catch(reject);
    });
    const early = this.earlyEnd(entry.id, options);
    try {
      const first = await Promise.race([ended, early.reason]);
      if (!(first instanceof LuactError)) return first;
      const asleep = first.kind === 'TIMEOUT' ? sleepingNote(host.sleepingFor(pid)) : '';
      let fate = 'was left unfinished and resumes when the node starts again';
      let terminated = false;
      if (!options.keepWorkflow) {
        try {
          await this.workflows.terminate(pid, first.message);
          [fate, terminated] = ['was terminated', true];
        } catch (error) {
          fate = `could not be terminated: ${LuactError.from(error).message}`;
        }
      }
      const error = new LuactError(
        first.kind,
        `${first.message}${asleep}; its workflow ${pid} ${fate}`,
        {
          retryable: first.retryable,
          details: { ...first.details, workflow: pid, terminated },
        },
      );
      return { ok: false, error };
    } finally {
      early.dispose();
    }
  }

  /** Why a run ends before its entry does (its time limit, its abort signal), once it does. */
  private earlyEnd(
    entryId: string,
    options: RunOptions,
  ): { readonly reason: Promise<LuactError>; dispose(): void } {
    const { timeoutMs, signal } = options;
    let cancelTimer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const reason = new Promise<LuactError>((resolve) => {
      if (timeoutMs !== undefined) {
        cancelTimer = this.system.clock.schedule(timeoutMs, () =>
          resolve(new LuactError('TIMEOUT', `${entryId} did not finish within ${timeoutMs} ms`)),
        );
      }
      if (signal) {
        onAbort = () =>
          resolve(
            signal.reason instanceof LuactError
              ? signal.reason
              : new LuactError('CANCELED', `${entryId} was stopped: ${String(signal.reason)}`),
          );
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    return {
      reason,
      dispose: () => {
        cancelTimer?.();
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  /**
   * Sends a message to a process or a workflow (by PID or registered name, or to
   * `{node@|name}`, the holder of local name `name` on node `node`). Resolves once it is
   * accepted — at once in a process's mailbox, once journaled for a workflow — and rejects
   * with why it cannot be delivered.
   */
  async send(to: string, topic: string, ...values: unknown[]): Promise<void> {
    const delivery = this.system.send({
      to: this.system.resolveDestination(to),
      from: undefined,
      topic,
      payload: encodeArguments(values, `a message to ${to}`),
    });
    if (delivery instanceof LuactError) throw delivery;
    await delivery;
  }

  /**
   * Sends `payload` on `topic` to a process (a PID or a registered name) and resolves with the
   * value of its reply: the first message it sends to the request's sender,
   * `process.send(msg:from(), topic, value)`. Rejects NOT_FOUND for an unknown target,
   * TIMEOUT after `timeoutMs` (default 30 s), UNAVAILABLE when the process ends before it
   * replies, CANCELED when the node stops first.
   */
  call(target: string, topic: string, payload?: unknown, options?: CallOptions): Promise<unknown> {
    return this.calls.call(target, topic, payload, options);
  }

  /** Makes a TypeScript function callable from Lua: funcs.call("ns:name", …). */
  registerFunction(id: string, fn: HostFunctionEntry): void {
    this.system.registerFunction(id, fn);
    this.workers?.functionRegistered(id);
  }

  /**
   * Calls `listener` when nothing in the node can make progress any more — no timer, I/O or
   * message is left on any of its threads that could wake a process: a process still running
   * then waits for what can never come (`luact run --exec` ends such an entry). Returns how to
   * stop listening. While someone listens, the node's worker threads do not keep this Node.js
   * process alive by themselves (see NodeIdle).
   */
  onIdle(listener: () => void): () => void {
    return this.idle.listen(listener);
  }

  // ── Inspection ────────────────────────────────────────────────────────────────────────────

  /** Every process of the node, on whichever thread it runs (`luact ps`). */
  async processes(): Promise<ProcessView[]> {
    return [...this.system.list().map(processView), ...((await this.workers?.processes()) ?? [])];
  }

  /**
   * Process `pid` of this node as `luact ps` shows it (its mailbox too), asked of the thread
   * that runs it; undefined once it has ended (or for a PID of no process here).
   */
  async processInfo(pid: Pid): Promise<ProcessView | undefined> {
    const here = this.system.process(pid);
    if (here) return processView(here);
    return this.workers?.process(pid);
  }

  /**
   * Answers `luact ps` and `luact services` (GET /node, /services, /processes as JSON) on a
   * Unix socket until the node stops; see controlSocketPath for where the CLI looks.
   */
  async serveControl(
    socketPath: string,
    name: string = DEFAULT_NODE_NAME,
    options: {
      /**
       * `luact stop` asked the node to stop (POST /stop): whoever runs the node stops it, as on
       * SIGTERM. Without it, /stop is refused.
       */
      readonly onStopRequest?: () => void;
    } = {},
  ): Promise<void> {
    if (this.control)
      throw new LuactError('ALREADY_EXISTS', `already serving ${this.control.socketPath}`);
    const nowMs = () => Number(this.system.clock.now() / 1_000_000n);
    this.control = await ControlServer.listen(socketPath, {
      ...this.inspectionRoutes(name),
      '/stop': {
        method: 'POST' as const,
        // Answers with the services as they are, so `luact stop` can report the failing ones.
        handle: () => {
          const { onStopRequest } = options;
          if (!onStopRequest)
            throw new LuactError('INVALID', 'this node is not stopped through its control socket', {
              retryable: false,
            });
          const services = this.services.list().map((status) => serviceView(status, nowMs()));
          setImmediate(onStopRequest);
          return { os_pid: process.pid, services };
        },
      },
    });
  }

  /** The control routes that answer about the node (served on its socket, and on NATS). */
  private inspectionRoutes(name: string): ControlRoutes {
    const nowMs = () => Number(this.system.clock.now() / 1_000_000n);
    const view = (handle: () => unknown) => ({ method: 'GET' as const, handle });
    return {
      '/node': view(
        (): NodeView => ({
          name,
          dir: this.dir,
          os_pid: process.pid,
          started_at: this.startedAt.toISOString(),
          hosts: this.system.hostIds(),
        }),
      ),
      '/services': view(() => this.services.list().map((status) => serviceView(status, nowMs()))),
      '/processes': view(() => this.processes()),
      ...workflowRoutes(this.workflows),
    };
  }

  // ── Changing the registry ─────────────────────────────────────────────────────────────────

  /**
   * Reads the application directory again and applies the difference as one change set, after
   * checking it like at start-up. Running processes keep their code; new spawns get the new.
   */
  async reload(): Promise<
    | { ok: true; changed: number; warnings: readonly Diagnostic[] }
    | { ok: false; diagnostics: readonly Diagnostic[] }
  > {
    const read = await readApplication(this.dir);
    if (hasErrors(read.diagnostics))
      return { ok: false, diagnostics: sortDiagnostics(read.diagnostics) };
    const applied = this.applyChanges(diffDefinitions(this.registry.snapshot, read.definitions));
    if (!applied.ok) return { ok: false, diagnostics: applied.error };
    // Said again at every reload, as at start: what lint would warn about in the new files.
    const warnings = sortDiagnostics([
      ...read.diagnostics.filter((d) => d.severity === 'warning'),
      ...entryCallProblems(this.registry.snapshot, 'warning'),
      ...applied.value.luaWarnings,
    ]);
    return { ok: true, changed: applied.value.plan.changes.length, warnings };
  }

  /**
   * Applies a change set checked as at start-up: the registry's checks, then the Lua ones for
   * the entries it changes (sources compile, listed modules exist); all of it, or nothing and
   * every problem. Running processes keep their code; new spawns and calls get the new.
   */
  applyChanges(
    changes: ChangeSet,
  ): Result<{ plan: Plan; luaWarnings: readonly Diagnostic[] }, Diagnostic[]> {
    // Planned as the version it will commit as, so what the check compiles is what runs.
    const planned = planChanges(this.registry.snapshot, changes, {
      env: this.env,
      version: this.registry.history.latest + 1,
    });
    if (!planned.ok) return planned;
    // A node without worker threads cannot start some while it runs (its default is 1).
    const onWorkers = this.workers
      ? []
      : workerHostChanges(
          planned.value.changes,
          (id) => workerHostOf(id, planned.value.snapshot, this.env) !== undefined,
        );
    if (onWorkers.length > 0) return err(onWorkers);
    const changed = new Set(
      planned.value.changes.flatMap((c) => (c.type === 'deleted' ? [] : [c.entry.id])),
    );
    const checked = this.checkLua(planned.value.snapshot, changed);
    if (checked.some((d) => d.severity === 'error')) return err(sortDiagnostics(checked));
    const applied = this.registry.apply(changes, { env: this.env });
    if (!applied.ok) return applied;
    return ok({ plan: applied.value, luaWarnings: checked });
  }

  /** Reloads whenever a file of the application changes (dev mode). */
  watch(onReload: (result: Awaited<ReturnType<Node['reload']>>) => void): void {
    if (this.watcher) return;
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(this.dir, { recursive: true }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload().then(onReload), 100);
    });
  }

  // ── Shutdown ──────────────────────────────────────────────────────────────────────────────

  /**
   * Stops the services dependents-first, each within its stop_timeout, then every process and
   * host. Calling it again returns the same result.
   */
  stop(): Promise<StopResult> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<StopResult> {
    this.watcher?.close();
    // Mail to a name whose service is stopped is left for the node's next run from here on.
    this.system.stopping();
    this.calls.close('the node is stopping');
    const { terminated, statuses } = await this.services.stop();
    // Runs stop where they are and resume from their journals on the next start.
    await this.workflows?.stop();
    await this.workers?.stop();
    this.system.close();
    this.ops?.close();
    await this.leaveCluster();
    await this.control?.close();
    return { clean: terminated.length === 0, terminated, services: statuses };
  }

  /** Leaves the cluster (if any), closes the transport and the NATS connections. */
  private async leaveCluster(): Promise<void> {
    if (this.cluster) await this.cluster.leave();
    else await this.system.transport.close();
    await this.connections.close();
  }

  /** This node's place in its cluster: identity and the last committed view (none standalone). */
  get clusterView(): { readonly identity: NodeIdentity; readonly view: View } | undefined {
    return this.cluster && { identity: this.cluster.identity, view: this.cluster.view };
  }

  /** Starts host `entry` on the main thread; its limits (undefined: it runs elsewhere). */
  private startHost(entry: Entry): HostLimits | undefined {
    if (!isProcessHost(entry) || this.workers?.runs(entry.id)) return undefined;
    const config = activateEntry(entry, this.env);
    if (!config.ok) throw new ApplicationError(config.error);
    this.system.addHost(entry.id, config.value.host);
    return config.value.host;
  }

  private applyHostChanges(event: RegistryEvent): void {
    for (const change of event.changes) {
      const id = change.type === 'deleted' ? change.previous.id : change.entry.id;
      const workers = this.workers;
      const next =
        change.type !== 'deleted' && isProcessHost(change.entry)
          ? workers?.workerHostOf(id, event.snapshot, this.env)
          : undefined;
      if (workers && (next || workers.runs(id))) {
        workers.inTurn(id, () => this.moveHost(workers, change, next));
        continue;
      }
      if (change.type !== 'created' && isProcessHost(change.previous)) {
        this.system.removeHost(change.previous.id);
      }
      if (change.type !== 'deleted' && isProcessHost(change.entry)) {
        const limits = this.startHost(change.entry);
        if (limits) workers?.hostOnMain(id, limits);
      }
    }
  }

  /**
   * A host that runs, or is to run, on worker threads changed while the node runs: as on the
   * main thread, the host as it was is removed (its processes end) and the new one started
   * (`next`: on worker threads; else on the main thread, if it is still a process host). The
   * new one numbers its PIDs past the old one's.
   */
  private async moveHost(
    workers: NodeWorkers,
    change: EntryChange,
    next: WorkerHost | undefined,
  ): Promise<void> {
    const id = change.type === 'deleted' ? change.previous.id : change.entry.id;
    // A host that was there and stays a process host is away for a moment, not gone.
    const restarts =
      change.type === 'updated' && isProcessHost(change.previous) && isProcessHost(change.entry);
    if (restarts) workers.restartBegins(id);
    try {
      let pidsBelow = 0;
      if (workers.runs(id)) pidsBelow = await workers.removeHost(id, restarts);
      else if (change.type !== 'created' && isProcessHost(change.previous))
        this.system.removeHost(id);
      const mainPids = this.system.numberPidsPast(pidsBelow);
      if (next) await workers.addHost(next, mainPids);
      else if (change.type !== 'deleted' && isProcessHost(change.entry)) {
        const limits = this.startHost(change.entry);
        if (limits) workers.hostOnMain(id, limits);
      }
    } finally {
      if (restarts) workers.restartDone(id);
    }
  }
}

/**
 * Why a node cannot run hosts on worker threads with these options: an injected clock (it
 * cannot cross threads).
 */
function workersRefused(options: NodeOptions, host: string): LuactError | undefined {
  if (!options.clock) return undefined;
  const why =
    'a node with an injected clock cannot run a host on worker threads (the clock cannot cross threads)';
  return new LuactError('INVALID', `${why}: host ${host} sets workers > 1`, {
    retryable: false,
    details: { host },
  });
}

/** The kinds of entry that are hosts of Lua processes: a terminal.host's own the console. */
const PROCESS_HOST_KINDS = ['process.host', 'terminal.host'] as const;

function isProcessHost(entry: Entry): entry is Entry & { kind: 'process.host' | 'terminal.host' } {
  return (PROCESS_HOST_KINDS as readonly string[]).includes(entry.kind);
}

/** Says that a workflow out of time was asleep on a durable timer, and how tests skip those. */
function sleepingNote(dueInMs: number | undefined): string {
  if (dueInMs === undefined) return '';
  return ` (it was waiting on a durable timer due in ${formatDuration(dueInMs)} of workflow time; with --time-skip, timers fire as soon as a run waits for nothing else)`;
}

function problemCount(n: number): string {
  return `the application has ${n} problem${n === 1 ? '' : 's'}`;
}

/** Joins the cluster on `connection`, serving the application's workflow hosts. */
function joinCluster(
  connection: NatsConnection,
  settings: ClusterSettings,
  registry: Registry,
  log: ((record: LogRecord) => void) | undefined,
): Promise<ClusterNode> {
  return ClusterNode.join({
    connection,
    node: settings.name,
    queues: registry.snapshot.ofKind('workflow.host').map((entry) => entry.id),
    ...(settings.replicas !== undefined ? { replicas: settings.replicas } : {}),
    ...(settings.liveness ? { liveness: settings.liveness } : {}),
    ...(settings.sendTimeoutMs !== undefined ? { sendTimeoutMs: settings.sendTimeoutMs } : {}),
    ...(log
      ? {
          log: (record: ClusterLogRecord) => log({ ...record, labels: { cluster: settings.name } }),
        }
      : {}),
  });
}
