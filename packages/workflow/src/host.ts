import { createHash, randomUUID } from 'node:crypto';
import { idProblem, LuactError, WORKFLOW_ID_RULE } from '@luact/core';
import type { Journal } from '@luact/journal';
import type { Clock, LogRecord, LuaApi } from '@luact/lua';
import {
  checkArguments,
  checkContext,
  checkStartupMessages,
  type Envelope,
  type ExitOutcome,
  type ExternalHost,
  type ExternalSpawnRequest,
  type HostLimits,
  messageRoom,
  type Pid,
  ProcessHost,
  type ProcessSystem,
  parsePid,
  type Signal,
} from '@luact/process';
import {
  DEFAULT_TASK_TIMEOUT,
  didYouMeanEntry,
  type Environment,
  type RegistrySnapshot,
  workflowHostOfQueue,
} from '@luact/registry';
import { entryDefaults } from './activity-options.js';
import { type DriverEnvironment, outcomeOf, RunDriver } from './driver.js';
import { WorkflowEffects } from './effects.js';
import { History } from './history.js';
import { checkWorkflowId, workflowModules } from './modules.js';
import type {
  ActivityOptions,
  Bytes,
  ConflictPolicy,
  Outcome,
  StartedRecord,
  StartupMessage,
  TerminalRecord,
} from './records.js';
import { expiredRuns, sweepInterval } from './retention.js';
import type { RunEnd } from './run.js';
import { WorkflowRun, workflowPid } from './run.js';
import { parseStream, runOfStream, streamOf } from './run-stream.js';
import {
  closedStatus,
  type ListedStatus,
  type RunSummary,
  readRunSummary,
  runSummary,
} from './run-summary.js';
import { workflowSpawnOptions } from './spawn-options.js';

export interface WorkflowHostOptions {
  /** The workflow.host entry's ID. */
  readonly id: string;
  readonly system: ProcessSystem;
  readonly api: LuaApi;
  /** Limits of the host's Lua VM (reductions, memory). */
  readonly limits: HostLimits;
  /** Where its runs are journaled; the host shuts it down when it stops. */
  readonly journal: Journal;
  readonly snapshot: () => RegistrySnapshot;
  readonly env: Environment;
  readonly clock: Clock;
  /** Timers fire as soon as a run waits for nothing else (tests of long sleeps). */
  readonly timeSkip?: boolean;
  readonly log?: (record: LogRecord) => void;
  readonly print?: (text: string) => void;
  /** Randomness for run seeds and generated workflow IDs. */
  readonly random?: () => number;
  /**
   * The node's workflow hosts by ID (child workflows may start on any of them): the hosts
   * themselves, or on a cluster node what routes a start to the owner of its partition.
   */
  readonly hosts: (id: string) => WorkflowStarter | undefined;
  /** How long a run's code may compute between two waits (default: the schema's, 10 s). */
  readonly taskTimeoutMs?: number;
  /**
   * How long the journal of a run that ended is kept (ms, workflow time); older ones are
   * removed (`removeExpired`), every `sweepInterval` of it. Unset: kept for ever.
   */
  readonly retentionMs?: number;
}

/** One run of a workflow as `luact workflow list` shows it. */
export interface WorkflowSummary {
  readonly workflow: string;
  readonly pid: string;
  readonly run: number;
  readonly entry: string;
  readonly status: ListedStatus;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly problem?: string;
}

/** What starts workflows on a host (the host, or a router to the node that owns the workflow). */
export interface WorkflowStarter {
  start(request: StartRequest): Promise<Pid>;
}

/** A cancel request for a workflow; one `origin` is taken once however often it is repeated. */
export interface CancelRequest {
  readonly reason?: string | undefined;
  readonly from?: string | undefined;
  readonly origin?: string | undefined;
}

/** An external host that takes cancels with an origin (a workflow host, or its cluster router). */
export interface CancelsOnce {
  cancel(pid: string, request: CancelRequest): Promise<void>;
}

/**
 * One journal of a partition a new owner took over (fenced and read): its records after the
 * fork rule and whether it is closed, or why it cannot be read.
 */
export type AdoptedJournal =
  | { readonly id: string; readonly records: readonly unknown[]; readonly closed: boolean }
  | { readonly id: string; readonly damaged: LuactError };

/** A request to start a workflow, from a process, a parent workflow or TypeScript. */
export interface StartRequest {
  readonly workflow?: string;
  readonly entry: string;
  readonly args: Bytes;
  readonly context: Readonly<Record<string, Bytes>>;
  readonly parent?: string;
  readonly parentSeq?: number;
  readonly follow?: number;
  readonly messages: readonly StartupMessage[];
  readonly conflict: ConflictPolicy;
  /**
   * An idempotency key: the same request repeated (after a lost answer) finds the run it
   * started, and its startup messages are taken once.
   */
  readonly key?: string;
}

/**
 * A workflow.host (docs/concepts/workflows.md): runs workflow.lua entries durably. Each workflow
 * has a stable ID and the PID `{host|id}`; each run of it (a new one after continue-as-new) is one
 * journal stream `<id>~<run>`. Starting, messaging, canceling and terminating journal first and
 * answer after; on start the host resumes every unfinished run from its journal.
 */
export class WorkflowHost implements ExternalHost {
  private readonly vmHost: ProcessHost;
  private readonly drivers = new Map<string, RunDriver>();
  /** The latest run number of every workflow the journal holds. */
  private readonly runs = new Map<string, number>();
  /**
   * The latest run of each workflow that ended here, once its end is durable: its driver is
   * gone then (a driver per finished run kept ~6 KB each for as long as the node ran).
   */
  private readonly finished = new Map<string, EndedRun>();
  /** Closes of the streams of runs that ended, under way (see closeStream). */
  private readonly closing = new Set<Promise<void>>();
  /**
   * Watchers of runs let go while this node still owns them (it was fenced): they watch the
   * run again when it is resumed here, and are dropped if the workflow moves away.
   */
  private readonly letGo = new Map<string, ((outcome: Outcome) => void)[]>();
  /** Workflows whose journal cannot be read: the error names the place. */
  private readonly unreadable = new Map<string, LuactError>();
  /** Summaries of runs closed without one (by an older version), read once from their journal. */
  private readonly readSummaries = new Map<string, WorkflowSummary>();
  private readonly environment: DriverEnvironment;
  private skewMs = 0;
  /** Activity options by function entry, valid as long as that entry object is current. */
  private readonly defaults = new WeakMap<object, ActivityOptions>();
  /** The next sweep for expired runs (see `removeExpired`): its timer, or the sweep under way. */
  private sweep: { readonly cancel: () => void } | { readonly running: Promise<void> } | undefined;
  private stopped = false;

  constructor(private readonly options: WorkflowHostOptions) {
    this.vmHost = ProcessHost.create(options.id, options.limits, {
      api: options.api,
      modules: workflowModules({
        hostId: options.id,
        isWorkflowHost: (id) => options.hosts(id) !== undefined,
        hostOfQueue: (name) => workflowHostOfQueue(options.snapshot(), name),
        isEntry: (id) => options.snapshot().get(id) !== undefined,
        activityDefaults: (id) => this.activityDefaults(id),
        ...(options.log ? { log: options.log } : {}),
      }),
      environment: { snapshot: options.snapshot, env: options.env },
      clock: options.clock,
      ...(options.print ? { print: options.print } : {}),
    });
    this.environment = {
      journal: options.journal,
      now: () => this.now(),
      schedule: (ms, fire) => options.clock.schedule(ms, fire),
      timeSkip: options.timeSkip === true,
      nodeBusy: () => options.system.processesBusy(),
      skipTo: (ms) => {
        this.skewMs = Math.max(this.skewMs, ms - this.realNow());
      },
      effects: new WorkflowEffects(options.system, options.hosts),
      log: (record) => options.log?.(record),
      ended: (driver, end, terminal) => this.runEnded(driver, end, terminal),
      lost: (driver, error) => this.runLost(driver, error),
    };
    this.scheduleSweep();
  }

  get id(): string {
    return this.options.id;
  }

  get journal(): Journal {
    return this.options.journal;
  }

  /** Names of the modules a workflow.lua entry may list. */
  get vm(): ProcessHost {
    return this.vmHost;
  }

  private activityDefaults(id: string): ActivityOptions {
    const entry = this.options.snapshot().get(id);
    if (!entry) return entryDefaults(undefined);
    let defaults = this.defaults.get(entry);
    if (!defaults) {
      const found = (entry.meta as Record<string, unknown>).options;
      defaults = entryDefaults(
        found && typeof found === 'object' ? (found as Record<string, unknown>) : undefined,
      );
      this.defaults.set(entry, defaults);
    }
    return defaults;
  }

  // ── Recovery ────────────────────────────────────────────────────────────────────────────

  /**
   * Resumes every unfinished run in the journal: its events are replayed through its code,
   * then what was in flight goes on (timers past due fire, calls without a result run again).
   * A run whose journal is damaged is reported and left alone; the others are not affected.
   */
  async recover(): Promise<{ resumed: number; unreadable: number }> {
    const refused = new Set<string>();
    for (const stream of await this.options.journal.ids()) {
      const { workflow, run } = parseStream(stream.id);
      if (this.refusesId(stream.id, workflow)) refused.add(stream.id);
      else if (run > (this.runs.get(workflow) ?? 0)) this.runs.set(workflow, run);
    }
    let resumed = 0;
    for (const stream of await this.options.journal.open()) {
      const { workflow, run } = parseStream(stream);
      if (refused.has(stream) || run < (this.runs.get(workflow) ?? 0)) continue;
      try {
        if (await this.resumeFrom(stream, await this.options.journal.read(stream))) resumed++;
      } catch (error) {
        this.noteUnreadable(workflow, stream, LuactError.from(error));
      }
    }
    return { resumed, unreadable: this.unreadable.size };
  }

  /**
   * Takes over workflows whose journals this node now owns (a partition it fenced and read,
   * every run of each workflow in it): resumes the latest run of each that has not ended, like
   * `recover` does for the whole journal.
   */
  async adopt(
    journals: readonly AdoptedJournal[],
  ): Promise<{ resumed: number; unreadable: number }> {
    const latest = new Map<string, AdoptedJournal>();
    for (const journal of journals) {
      const { workflow, run } = parseStream(journal.id);
      if (this.refusesId(journal.id, workflow)) continue;
      if (run > (this.runs.get(workflow) ?? 0)) this.runs.set(workflow, run);
      if (run === this.runs.get(workflow)) latest.set(workflow, journal);
    }
    let resumed = 0;
    let unreadable = 0;
    for (const [workflow, journal] of latest) {
      // Driven here, or ended here: the records may be older than what this host knows (read
      // before its latest append landed, which may carry results the code saw before they
      // were journaled), and resuming from them would run a finished activity again. An ended
      // run whose stream is still open (closing it was refused) is closed now.
      if (this.drivers.has(workflow)) continue;
      const ended = this.finished.get(workflow);
      if (ended !== undefined && ended.run === parseStream(journal.id).run) {
        if (!('damaged' in journal) && !journal.closed) this.closeStream(journal.id, ended.summary);
        continue;
      }
      try {
        if ('damaged' in journal) throw journal.damaged;
        if (journal.closed) {
          this.unreadable.delete(workflow);
          continue;
        }
        if (await this.resumeFrom(journal.id, journal.records)) resumed++;
      } catch (error) {
        this.noteUnreadable(workflow, journal.id, LuactError.from(error));
        unreadable++;
      }
    }
    return { resumed, unreadable };
  }

  /**
   * Stops driving the workflows `moved` selects (their partition moved to another node): runs
   * stop where they are, nothing is journaled or terminated (the new owner resumes them), and
   * this host forgets them. Resolves with how many runs were stopped.
   */
  release(moved: (workflow: string) => boolean): number {
    let stopped = 0;
    for (const [workflow, driver] of [...this.drivers]) {
      if (!moved(workflow)) continue;
      this.drivers.delete(workflow);
      if (!driver.terminal) {
        driver.stop();
        stopped++;
      }
    }
    for (const known of [
      this.runs,
      this.finished,
      this.unreadable,
      this.readSummaries,
      this.letGo,
    ]) {
      for (const key of [...known.keys()]) {
        if (moved(known === this.readSummaries ? parseStream(key).workflow : key))
          known.delete(key);
      }
    }
    return stopped;
  }

  /** Whether this host drives `workflow` now (its latest run is here: running, blocked or ended). */
  drives(workflow: string): boolean {
    return this.drivers.has(workflow) || this.finished.has(workflow);
  }

  /** Whether this host drives the run whose journal `stream` is (see `drives`). */
  drivesJournal(stream: string): boolean {
    const { workflow, run } = parseStream(stream);
    return this.drivers.has(workflow) || this.finished.get(workflow)?.run === run;
  }

  /** Resumes the run `stream` from its records; false when it had ended (it is closed now). */
  private async resumeFrom(stream: string, records: readonly unknown[]): Promise<boolean> {
    const history = History.of(stream, records as never);
    if (history.terminal) {
      // Ended, but the stream was not closed before the crash (or before this node, fenced
      // for a moment, was refused the close and let the run go).
      const { started, terminal } = history;
      const ended = endedRun(started, terminal);
      this.finished.set(started.workflow, ended);
      await this.options.journal.close(stream, ended.summary);
      if (terminal.t !== 'continued') {
        // Watchers of the run let go learn its end now: nothing else would tell them.
        const outcome = outcomeOf(terminal);
        for (const watcher of this.letGo.get(started.workflow) ?? []) watcher(outcome);
        this.letGo.delete(started.workflow);
      }
      return false;
    }
    this.unreadable.delete(history.started.workflow);
    this.resume(history);
    return true;
  }

  /**
   * Closes the stream of a run that ended (in the background: `settled` waits for it); a
   * close that fails is logged, and made again at the next start.
   */
  private closeStream(stream: string, summary: RunSummary): void {
    const closing = this.options.journal.close(stream, summary).catch((error: unknown) =>
      this.options.log?.({
        level: 'warn',
        message: 'workflow journal not closed (it is closed at the next start)',
        fields: { stream, error: LuactError.from(error).message },
        labels: { host: this.id },
      }),
    );
    this.closing.add(closing);
    void closing.then(() => this.closing.delete(closing));
  }

  private noteUnreadable(workflow: string, stream: string, problem: LuactError): void {
    this.unreadable.set(workflow, problem);
    this.options.log?.({
      level: 'error',
      message: 'workflow journal unreadable',
      fields: { workflow, stream, error: problem.message },
      labels: { host: this.id },
    });
  }

  /**
   * A journal whose workflow ID breaks the ID rule (written by an older version, or copied in)
   * is left as it is and logged, never resumed or listed: its ID could not be shown on one
   * line, nor named in a PID.
   */
  private refusesId(stream: string, workflow: string): boolean {
    const problem = idProblem(workflow, WORKFLOW_ID_RULE);
    if (!problem) return false;
    this.options.log?.({
      level: 'error',
      message: 'workflow journal ignored',
      fields: { stream, error: problem.message },
      labels: { host: this.id },
    });
    return true;
  }

  private resume(history: History): void {
    const driver = new RunDriver(history.stream, this.environment, history.records.length, history);
    this.drivers.set(history.started.workflow, driver);
    for (const watcher of this.letGo.get(history.started.workflow) ?? []) driver.watch(watcher);
    this.letGo.delete(history.started.workflow);
    try {
      driver.resume(this.runOf(history.started, driver));
    } catch (error) {
      driver.problem = LuactError.from(error);
      driver.status = 'blocked';
    }
  }

  // ── Starting ────────────────────────────────────────────────────────────────────────────

  /** Starts a workflow (or finds the running one, by policy); resolves once it is journaled. */
  async start(request: StartRequest): Promise<Pid> {
    if (this.stopped) throw new LuactError('UNAVAILABLE', `workflow host ${this.id} is stopped`);
    const workflow = checkWorkflowId(request.workflow ?? this.generatedId());
    this.checkEntry(request.entry);
    const tooLarge =
      checkArguments(request.args, request.entry, this.vmHost) ??
      checkContext(new Map(Object.entries(request.context)), request.entry, this.vmHost) ??
      checkStartupMessages(request.messages, request.entry, this.vmHost);
    if (tooLarge) throw tooLarge;
    const current = this.drivers.get(workflow);
    // The same request again (its answer was lost): the run it started, running or ended.
    const latestKey = current ? current.started.key : this.finished.get(workflow)?.key;
    if (request.key !== undefined && latestKey === request.key)
      return workflowPid(this.id, workflow);
    if (current && !current.terminal) {
      if (request.conflict === 'fail') {
        throw new LuactError('ALREADY_EXISTS', `workflow ${workflow} is already running`, {
          retryable: false,
          details: { workflow, pid: workflowPid(this.id, workflow) },
        });
      }
      if (request.conflict === 'use_existing') {
        const pid = workflowPid(this.id, workflow);
        for (const [index, message] of request.messages.entries()) {
          await current.receive(
            {
              t: 'signal',
              at: this.now(),
              ...message,
              ...(request.key !== undefined ? { origin: `${request.key}#${index}` } : {}),
            },
            this.admission(pid, message.topic, message.payload),
          );
        }
        return workflowPid(this.id, workflow);
      }
      current.terminate(`replaced by a new run of ${workflow}`);
      await current.queue.drained();
    }
    const run = (this.runs.get(workflow) ?? 0) + 1;
    const started: StartedRecord = {
      t: 'started',
      at: this.now(),
      workflow,
      run,
      entry: request.entry,
      host: this.id,
      args: request.args,
      code: this.codeHash(request.entry),
      context: request.context,
      seed: Math.floor((this.options.random ?? Math.random)() * 2 ** 32),
      messages: request.messages,
      ...(request.parent !== undefined ? { parent: request.parent } : {}),
      ...(request.parentSeq !== undefined ? { parentSeq: request.parentSeq } : {}),
      ...(request.follow ? { follow: request.follow } : {}),
      ...(request.key !== undefined ? { key: request.key } : {}),
    };
    await this.begin(started);
    return workflowPid(this.id, workflow);
  }

  private async begin(started: StartedRecord, watchers: ((outcome: Outcome) => void)[] = []) {
    const previousRun = this.runs.get(started.workflow);
    this.runs.set(started.workflow, started.run);
    this.finished.delete(started.workflow);
    const driver = new RunDriver(streamOf(started.workflow, started.run), this.environment, 0);
    for (const watcher of watchers) driver.watch(watcher);
    this.drivers.set(started.workflow, driver);
    try {
      await driver.begin(this.runOf(started, driver));
    } catch (error) {
      // Not journaled (this node does not own the workflow, say): as if never asked.
      if (this.drivers.get(started.workflow) === driver || !this.drivers.has(started.workflow)) {
        this.drivers.delete(started.workflow);
        if (previousRun === undefined) this.runs.delete(started.workflow);
        else this.runs.set(started.workflow, previousRun);
      }
      throw error;
    }
  }

  /** A run whose journal another owner writes now: let go (see DriverEnvironment.lost). */
  private runLost(driver: RunDriver, error: LuactError): void {
    const { workflow } = driver.started;
    if (this.drivers.get(workflow) !== driver) return;
    this.drivers.delete(workflow);
    this.letGo.set(workflow, driver.takeWatchers());
    this.options.log?.({
      level: 'info',
      message: 'workflow run let go: another node writes its journal',
      fields: { workflow, stream: driver.stream, error: error.message },
      labels: { host: this.id },
    });
  }

  private runOf(started: StartedRecord, driver: RunDriver): WorkflowRun {
    const entry = this.options.snapshot().get(started.entry);
    if (entry?.kind !== 'workflow.lua') {
      throw new LuactError(
        'NOT_FOUND',
        `workflow ${started.workflow} runs ${started.entry}, which is no longer a workflow.lua entry`,
        { retryable: false },
      );
    }
    const prepared = this.vmHost.prepare(entry);
    const method = (entry.fields.method as string | undefined) ?? 'main';
    return new WorkflowRun(
      started,
      this.vmHost.vm,
      prepared,
      method,
      driver,
      this.options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT,
    );
  }

  private checkEntry(id: string): void {
    const entry = this.options.snapshot().get(id);
    if (!entry) {
      const hint = didYouMeanEntry(this.options.snapshot(), id, ['workflow.lua']);
      throw new LuactError('NOT_FOUND', `entry ${id} not found${hint}`, { retryable: false });
    }
    if (entry.kind !== 'workflow.lua') {
      throw new LuactError(
        'INVALID',
        `cannot start ${id} on workflow host ${this.id}: it is a ${entry.kind} entry, and workflow hosts run workflow.lua entries`,
        { retryable: false },
      );
    }
  }

  private codeHash(entryId: string): string {
    const entry = this.options.snapshot().get(entryId);
    const fingerprint =
      entry?.kind === 'workflow.lua' ? this.vmHost.prepare(entry).fingerprint : '';
    return createHash('sha256').update(fingerprint).digest('hex').slice(0, 16);
  }

  private generatedId(): string {
    return randomUUID();
  }

  /**
   * A run's end is durable: its stream is closed and its driver goes (a run that continues
   * as new has a new one).
   */
  private runEnded(driver: RunDriver, end: RunEnd, terminal: TerminalRecord): void {
    const { workflow } = driver.started;
    const ended = endedRun(driver.started, terminal);
    this.finished.set(workflow, ended);
    this.closeStream(driver.stream, ended.summary);
    if (this.drivers.get(workflow) === driver) this.drivers.delete(workflow);
    if (end.kind !== 'continued' || this.stopped) return;
    const previous = driver.started;
    void this.begin(
      {
        ...previous,
        at: this.now(),
        run: previous.run + 1,
        entry: end.entry,
        args: end.args,
        code: this.codeHash(end.entry),
        seed: Math.floor((this.options.random ?? Math.random)() * 2 ** 32),
        messages: [],
      },
      driver.takeWatchers(),
    ).catch((error: unknown) =>
      this.options.log?.({
        level: 'error',
        message: 'workflow could not continue as new',
        fields: { workflow, error: LuactError.from(error).message },
        labels: { host: this.id },
      }),
    );
  }

  // ── ExternalHost: what processes ask of workflows ───────────────────────────────────────

  spawn(request: ExternalSpawnRequest): Promise<Pid> {
    return this.start(startRequestOf(request));
  }

  /**
   * A message to a workflow: resolves once it is journaled (an accepted message is never lost).
   * One from another workflow's command carries its origin, so it is journaled once however
   * often that command is carried out.
   */
  async send(envelope: Envelope): Promise<void> {
    await this.live(envelope.to).receive(
      {
        t: 'signal',
        at: this.now(),
        topic: envelope.topic,
        payload: envelope.payload,
        ...(envelope.from !== undefined ? { from: envelope.from } : {}),
        ...(envelope.origin !== undefined ? { origin: envelope.origin } : {}),
      },
      this.admission(envelope.to, envelope.topic, envelope.payload),
    );
  }

  /**
   * The host's limits for a message to the run `pid`: its `max_message_size`, and its mailbox
   * limits over what the run holds not yet received (journaled, not yet handed to its code).
   */
  private admission(pid: string, topic: string, payload: Bytes) {
    return (held: { length: number; bytes: number }) =>
      messageRoom({ pid, host: this.vmHost, mailbox: { held: () => held } }, topic, payload);
  }

  async signal(signal: Extract<Signal, { kind: 'cancel' | 'terminate' }>): Promise<void> {
    if (signal.kind === 'terminate') {
      await this.terminateWorkflow(this.workflowOf(signal.to), 'terminated', signal.from);
      return;
    }
    await this.cancel(signal.to, { reason: signal.reason, from: signal.from });
  }

  /**
   * A CANCEL event for the workflow `pid`; resolves once journaled. One with an `origin` that
   * was journaled already (a repeated request) is taken once.
   */
  async cancel(pid: string, request: CancelRequest): Promise<void> {
    await this.live(pid).cancel({
      t: 'cancel',
      at: this.now(),
      ...(request.reason !== undefined ? { reason: request.reason } : {}),
      ...(request.from !== undefined ? { from: request.from } : {}),
      ...(request.origin !== undefined ? { origin: request.origin } : {}),
    });
  }

  async watch(pid: Pid, onExit: (outcome: ExitOutcome) => void): Promise<void> {
    await this.watchWorkflow(pid, (outcome) =>
      onExit(
        outcome.ok
          ? { ok: true, value: outcome.value }
          : { ok: false, error: LuactError.fromData(outcome.error) },
      ),
    );
  }

  /** `onExit` once the workflow's current run has ended (at once if it has). */
  async watchWorkflow(pid: string, onExit: (outcome: Outcome) => void): Promise<void> {
    const workflow = this.workflowOf(pid);
    const driver = this.drivers.get(workflow);
    if (driver) {
      driver.watch(onExit);
      return;
    }
    const waiting = this.letGo.get(workflow);
    if (waiting) {
      waiting.push(onExit);
      return;
    }
    const ended = await this.lastTerminal(workflow);
    if (!ended) throw notFound(pid);
    onExit(outcomeOf(ended));
  }

  private async lastTerminal(workflow: string): Promise<TerminalRecord | undefined> {
    const run = this.runs.get(workflow);
    if (run === undefined) return undefined;
    const history = History.of(
      streamOf(workflow, run),
      await this.options.journal.read(streamOf(workflow, run)),
    );
    return history.terminal;
  }

  /**
   * For a run that waits only for its durable timers: how long until the earliest fires (in
   * workflow time, ms). Lets a caller whose patience ran out say that the run is asleep.
   */
  sleepingFor(pid: string): number | undefined {
    const driver = this.drivers.get(this.workflowOf(pid));
    return driver?.terminal ? undefined : driver?.nextTimerIfOnlyWaitingForTimers();
  }

  /** The driver of a workflow that can still receive (running or blocked). */
  private live(pid: string): RunDriver {
    const workflow = this.workflowOf(pid);
    const driver = this.drivers.get(workflow);
    const ended = driver ? driver.terminal?.t : this.finished.get(workflow)?.ended;
    if (ended !== undefined) {
      throw new LuactError('NOT_FOUND', `workflow ${workflow} has ended (${ended})`, {
        retryable: false,
        details: { workflow },
      });
    }
    if (!driver) throw notFound(pid);
    return driver;
  }

  private workflowOf(pid: string): string {
    const parts = workflowPidParts(pid);
    if (!parts || parts.host !== this.id) throw notFound(pid);
    return parts.workflow;
  }

  /** Ends a workflow at once (`luact workflow terminate`); resolves once that is journaled. */
  async terminateWorkflow(workflow: string, reason: string, from?: string): Promise<void> {
    const driver = this.live(workflowPid(this.id, workflow));
    driver.terminate(reason, from);
    await driver.queue.drained();
  }

  // ── Inspection ──────────────────────────────────────────────────────────────────────────

  /**
   * Runs this host holds a driver for: running, blocked, or ended with the end not yet
   * durable. A run whose end is durable is let go (what `list` shows of it stays).
   */
  get runsInMemory(): number {
    return this.drivers.size;
  }

  /** Whether the journal holds a workflow of this ID (running, ended or unreadable). */
  knows(workflow: string): boolean {
    return this.runs.has(workflow) || this.unreadable.has(workflow);
  }

  list(): WorkflowSummary[] {
    const summaries: WorkflowSummary[] = [];
    for (const [workflow, driver] of this.drivers) {
      const started = driver.started;
      summaries.push({
        workflow,
        pid: workflowPid(this.id, workflow),
        run: started.run,
        entry: started.entry,
        status: driver.terminal ? closedStatus(driver.terminal) : driver.status,
        startedAt: started.at,
        ...(driver.terminal ? { endedAt: driver.terminal.at } : {}),
        ...(driver.problem ? { problem: driver.problem.message } : {}),
      });
    }
    for (const [workflow, { run, summary }] of this.finished) {
      if (this.drivers.has(workflow)) continue;
      summaries.push({ workflow, pid: workflowPid(this.id, workflow), run, ...summary });
    }
    for (const [workflow, problem] of this.unreadable) {
      summaries.push({
        workflow,
        pid: workflowPid(this.id, workflow),
        run: this.runs.get(workflow) ?? 0,
        entry: '',
        status: 'unreadable',
        problem: problem.message,
      });
    }
    return summaries.sort((a, b) => (a.workflow < b.workflow ? -1 : 1));
  }

  /**
   * Every run in the journal, earlier runs and ended ones included (`list()` has the latest run
   * of each workflow this host holds in memory). Closed runs come from the summaries their
   * streams were closed with, so none is read; one closed by an older version, without a
   * summary, is read once and remembered.
   */
  async listRuns(): Promise<WorkflowSummary[]> {
    const byStream = new Map<string, WorkflowSummary>();
    for (const closed of await this.options.journal.listClosed()) {
      const listed = runOfStream(closed.id);
      if (listed === undefined) continue;
      const { workflow, run } = listed;
      const summary = readRunSummary(closed.summary);
      byStream.set(
        closed.id,
        summary
          ? { workflow, pid: workflowPid(this.id, workflow), run, ...summary }
          : await this.summaryFromJournal(closed.id, workflow, run),
      );
    }
    // What memory holds is newer: running, blocked, unreadable, or ended but not yet closed.
    for (const summary of this.list())
      byStream.set(streamOf(summary.workflow, summary.run), summary);
    return [...byStream.values()];
  }

  private async summaryFromJournal(
    stream: string,
    workflow: string,
    run: number,
  ): Promise<WorkflowSummary> {
    const known = this.readSummaries.get(stream);
    if (known) return known;
    const pid = workflowPid(this.id, workflow);
    try {
      const history = History.of(stream, await this.options.journal.read(stream));
      if (!history.terminal)
        throw new LuactError('INTERNAL', `${stream} was closed before it ended`);
      const summary = { workflow, pid, run, ...runSummary(history.started, history.terminal) };
      this.readSummaries.set(stream, summary);
      return summary;
    } catch (error) {
      const problem = LuactError.from(error).message;
      return { workflow, pid, run, entry: '', status: 'unreadable', problem };
    }
  }

  /** The journal of a workflow's latest run. */
  async history(workflow: string): Promise<readonly unknown[]> {
    const run = this.runs.get(workflow);
    if (run === undefined) throw notFound(workflowPid(this.id, workflow));
    return this.options.journal.read(streamOf(workflow, run));
  }

  /** Waits until every run has nothing left to journal (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([
      ...[...this.drivers.values()].map((driver) => driver.queue.drained()),
      ...this.closing,
    ]);
  }

  // ── Retention ───────────────────────────────────────────────────────────────────────────

  /**
   * Removes the journals of runs that ended more than the retention ago (`retentionMs`), of
   * the workflows this host drives, oldest first, and forgets a workflow once its latest run
   * is gone: starting it again begins at run 1, and a keyed start repeated after that starts
   * a new run. Resolves with how many runs were removed. A removal that fails is logged and
   * ends the sweep of that workflow; the next sweep takes it up again.
   */
  async removeExpired(): Promise<number> {
    const retention = this.options.retentionMs;
    if (retention === undefined || this.stopped) return 0;
    const drives = (workflow: string) => this.runs.has(workflow);
    const expired = expiredRuns(
      await this.options.journal.listClosed(),
      this.now() - retention,
      drives,
    );
    let removed = 0;
    for (const [workflow, runs] of expired) {
      for (const run of runs) {
        // Checked again before each removal: the workflow may have moved to another node.
        if (this.stopped || !drives(workflow)) break;
        // Never a run this host still drives, whatever the listing says of it: on JetStream,
        // a close marker that a zombie sent for a close that lost a fork marks a run closed
        // that its new owner, this host, runs on (its journal is open).
        if (this.drivers.get(workflow)?.started.run === run) continue;
        const stream = streamOf(workflow, run);
        try {
          await this.options.journal.remove(stream);
        } catch (error) {
          this.options.log?.({
            level: 'warn',
            message: 'expired workflow journal not removed (the next sweep tries again)',
            fields: { stream, error: LuactError.from(error).message },
            labels: { host: this.id },
          });
          break;
        }
        removed++;
        this.readSummaries.delete(stream);
        // Not if a new run began meanwhile: it took the next number already.
        if (this.runs.get(workflow) === run && !this.drivers.has(workflow)) {
          this.runs.delete(workflow);
          this.finished.delete(workflow);
        }
      }
    }
    return removed;
  }

  private scheduleSweep(): void {
    const retention = this.options.retentionMs;
    if (retention === undefined || this.stopped) return;
    const cancel = this.options.clock.schedule(sweepInterval(retention), () => {
      const running = this.removeExpired()
        .then(
          (removed) =>
            removed > 0 &&
            this.options.log?.({
              level: 'info',
              message: 'expired workflow journals removed',
              fields: { removed },
              labels: { host: this.id },
            }),
          (error: unknown) =>
            this.options.log?.({
              level: 'warn',
              message: 'expired workflow journals not swept (the next sweep tries again)',
              fields: { error: LuactError.from(error).message },
              labels: { host: this.id },
            }),
        )
        .then(() => this.scheduleSweep());
      this.sweep = { running };
    });
    this.sweep = { cancel };
  }

  // ── Lifecycle ───────────────────────────────────────────────────────────────────────────

  /** Stops every run where it is (they resume from their journals next time) and closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweep && 'cancel' in this.sweep) this.sweep.cancel();
    else await this.sweep?.running;
    for (const driver of this.drivers.values()) driver.stop();
    await this.settled();
    await this.options.journal.shutdown();
    this.vmHost.close();
  }

  private realNow(): number {
    return Number(this.options.clock.now() / 1_000_000n);
  }

  private now(): number {
    return this.realNow() + this.skewMs;
  }
}

/**
 * The host and workflow ID of a workflow's PID, the ID spelled as written: parsePid reads an
 * all-digit ID as a number, so workflow "007" would come back as "7".
 */
export function workflowPidParts(pid: string): { host: string; workflow: string } | undefined {
  const parts = parsePid(pid);
  return parts && { host: parts.host, workflow: pid.slice(pid.indexOf('|') + 1, -1) };
}

/** What a host keeps of a run that ended (see `WorkflowHost.finished`). */
interface EndedRun {
  readonly run: number;
  /** The idempotency key it was started with: a repeated start answers it. */
  readonly key: string | undefined;
  /** How it ended (the terminal record's kind). */
  readonly ended: TerminalRecord['t'];
  readonly summary: RunSummary;
}

function endedRun(started: StartedRecord, terminal: TerminalRecord): EndedRun {
  return {
    run: started.run,
    key: started.key,
    ended: terminal.t,
    summary: runSummary(started, terminal),
  };
}

/** A workflow this host does not know (`details.known` false: not one that has ended). */
function notFound(pid: string): LuactError {
  return new LuactError('NOT_FOUND', `no workflow ${pid}`, {
    retryable: false,
    details: { pid, known: false },
  });
}

/** A spawn on a workflow host (process.spawn, Node.spawn) as a start request. */
export function startRequestOf(request: ExternalSpawnRequest): StartRequest {
  const { id, conflict } = workflowSpawnOptions(request.options);
  const context: Record<string, Bytes> = {};
  for (const [key, value] of request.context) context[key] = value;
  return {
    ...((id ?? request.name) ? { workflow: (id ?? request.name) as string } : {}),
    entry: request.entry,
    args: request.args,
    context,
    ...(request.parent !== undefined ? { parent: request.parent } : {}),
    messages: (request.messages ?? []).map((message) => ({
      topic: message.topic,
      payload: message.payload,
      ...(request.parent !== undefined ? { from: request.parent } : {}),
    })),
    conflict,
  };
}
