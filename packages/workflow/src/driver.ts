import { LuactError, RingQueue, retryDelay } from '@luact/core';
import type { Journal, JournalRecord } from '@luact/journal';
import type { LogRecord } from '@luact/lua';
import { messageBytes } from '@luact/process';
import { AppendQueue } from './append-queue.js';
import { type Divergence, divergenceError, firstDifference } from './divergence.js';
import type { History } from './history.js';
import type {
  Command,
  EventRecord,
  Outcome,
  StartedRecord,
  TaskRecord,
  TerminalRecord,
} from './records.js';
import type { RunEnd, RunListener, WorkflowRun } from './run.js';

/** Where a run stands, as `luact workflow list` shows it. */
export type RunStatus =
  | 'replaying'
  | 'running'
  | 'blocked'
  | 'completed'
  | 'failed'
  | 'terminated'
  | 'continued';

/**
 * What a driver needs from its host: the journal, workflow time, and the world its commands
 * act on (functions, timers, processes, other workflows).
 */
export interface DriverEnvironment {
  readonly journal: Journal;
  /** Workflow time now, Unix ms (the host's clock, moved ahead by skipped time). */
  now(): number;
  /** Calls `fire` after `ms` of real time (time-skipping hosts never call it). */
  schedule(ms: number, fire: () => void): () => void;
  /** Tests: timers fire as soon as a run waits for nothing else, and time jumps ahead. */
  readonly timeSkip: boolean;
  /** With time skipping: whether processes of the node are still running (not yet idle). */
  nodeBusy?(): boolean;
  skipTo(ms: number): void;
  readonly effects: CommandEffects;
  log(record: LogRecord): void;
  /** The run ended: its terminal record is durable (the host closes its stream). */
  ended(driver: RunDriver, end: RunEnd, terminal: TerminalRecord): void;
  /**
   * The journal refused an append with CONFLICT: another owner writes this run now (its
   * partition moved, or this node is fenced). The driver has stopped; the host lets it go.
   */
  lost(driver: RunDriver, error: LuactError): void;
}

/** How commands act on the world outside the run. */
export interface CommandEffects {
  /** Runs an activity attempt; resolves with its outcome. */
  invoke(
    command: Extract<Command, { k: 'activity' }>,
    attempt: number,
  ): { readonly outcome: Promise<Outcome>; cancel(reason: string): void };
  send(from: WorkflowRun, command: Extract<Command, { k: 'send' }>): Promise<void>;
  startChild(parent: WorkflowRun, command: Extract<Command, { k: 'child' }>): Promise<void>;
  signal(
    from: WorkflowRun,
    command: Extract<Command, { k: 'cancel' | 'terminate' }>,
  ): Promise<void>;
  /** Calls `onExit` when `target` (a workflow or a process) ends. */
  watch(target: string, onExit: (outcome: Outcome) => void): Promise<void>;
}

/**
 * Runs one workflow run against its journal: the run's events are appended before its code
 * sees them, its commands are appended before they are carried out, and after a crash the
 * journal is replayed through the same code path — checking the code issues what it issued
 * before — until the run catches up and goes on live. Commands still in flight then (calls
 * without a result, timers that have not fired) are carried out again.
 */
export class RunDriver implements RunListener {
  run!: WorkflowRun;
  readonly queue: AppendQueue;
  status: RunStatus;
  /** Why the run is blocked (non-determinism, a failed append). */
  problem: LuactError | undefined;
  private history: History | undefined;
  private readonly deliverable = new RingQueue<EventRecord>();
  /** Messages received live and not yet handed to the code, with their sizes. */
  private readonly waiting = new Map<EventRecord, number>();
  private waitingBytes = 0;
  private delivered = 0;
  private readonly activities = new Map<number, { cancel(reason: string): void }>();
  /** Activities with a schedule_to_close_timeout: when all their attempts must have ended. */
  private readonly activityDeadlines = new Map<number, number>();
  private readonly timers = new Map<number, { due: number; every?: number; stop?: () => void }>();
  /** Children and monitored targets whose end the run waits for. */
  private readonly awaited = new Set<number>();
  /** Commands being carried out (sends, starts, signals), for the `executed` watermark. */
  private readonly executing = new Set<number>();
  private executedMax = 0;
  private readonly exitListeners: ((outcome: Outcome) => void)[] = [];
  private endedWith: TerminalRecord | undefined;
  /** Origins of messages from other workflows already journaled (a resend is dropped). */
  private readonly origins: Set<string>;

  constructor(
    readonly stream: string,
    private readonly env: DriverEnvironment,
    length: number,
    history?: History,
  ) {
    this.history = history;
    this.origins = new Set(history?.origins);
    this.status = history ? 'replaying' : 'running';
    this.queue = new AppendQueue(
      env.journal,
      stream,
      length,
      (error) => this.journalFailed(error),
      () => {
        if (env.timeSkip) this.pump();
      },
    );
  }

  get started(): StartedRecord {
    return this.run.started;
  }

  get terminal(): TerminalRecord | undefined {
    return this.endedWith;
  }

  // ── Starting ────────────────────────────────────────────────────────────────────────────

  /** A new run: its started record is journaled (resolves then), then its code starts. */
  begin(run: WorkflowRun): Promise<void> {
    this.run = run;
    return this.journalEvent(run.started);
  }

  /** A run recovered from its journal: its events are replayed, then it goes on live. */
  resume(run: WorkflowRun): void {
    this.run = run;
    this.deliverable.pushAll(this.history?.events ?? []);
    this.pump();
  }

  // ── Events from outside ─────────────────────────────────────────────────────────────────

  /** Journals `event` and hands it to the code in turn; resolves once it is durable. */
  arrive(event: EventRecord): Promise<void> {
    if (this.endedWith) return Promise.reject(this.endedError());
    return this.journalEvent(event);
  }

  /**
   * A message for the run; one from another workflow that was journaled already is dropped.
   * `admit` may refuse it first (the run's mailbox limits), given what the run holds.
   */
  receive(
    signal: Extract<EventRecord, { t: 'signal' }>,
    admit: (unreceived: { length: number; bytes: number }) => LuactError | undefined,
  ): Promise<void> {
    if (signal.origin !== undefined && this.origins.has(signal.origin)) return Promise.resolve();
    const refused = admit(this.unreceived);
    if (refused) return Promise.reject(refused);
    if (signal.origin !== undefined) this.origins.add(signal.origin);
    const bytes = messageBytes(signal.topic, signal.payload);
    this.waiting.set(signal, bytes);
    this.waitingBytes += bytes;
    return this.arrive(signal);
  }

  /** A cancel request; one whose origin was journaled already (a repeated request) is dropped. */
  cancel(event: Extract<EventRecord, { t: 'cancel' }>): Promise<void> {
    if (event.origin !== undefined && this.origins.has(event.origin)) return Promise.resolve();
    if (event.origin !== undefined && !this.endedWith) this.origins.add(event.origin);
    return this.arrive(event);
  }

  /** Messages accepted for the run that its code has not received: on their way, or queued. */
  private get unreceived(): { length: number; bytes: number } {
    const held = this.run.mailbox.held();
    return {
      length: this.waiting.size + held.length,
      bytes: this.waitingBytes + held.bytes,
    };
  }

  private journalEvent(event: EventRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.mayDeliverBeforeJournaled(event)) {
        // Handed to the code now, journaled with the task it leads to: one append, not two.
        // What the code logs meanwhile is held until then.
        const held: (() => void)[] = [];
        const journaled = () => {
          for (const say of held) say();
          resolve();
        };
        this.unjournaled = { event, held, resolve: journaled, reject };
        this.deliverable.push(event);
        this.pump();
        return;
      }
      // The journal keeps events in the order the code sees them: one handed over before
      // it was journaled goes first.
      this.journalWithEvent([
        {
          record: event as never,
          done: () => {
            this.deliverable.push(event);
            this.pump();
            resolve();
          },
        },
      ]);
      this.rejectIfQueueFails(reject);
    });
  }

  private rejectIfQueueFails(reject: (error: Error) => void): void {
    void this.queue.drained().then(() => {
      if (this.queue.failed) reject(this.queue.failed);
    });
  }

  /**
   * Whether `event` may reach the code before it is durable. Nothing the code does with it
   * leaves the run before the event is journaled (commands are carried out only once the task
   * that issued them is durable, and the task is appended with the event), so a crash in
   * between loses only the event, which its source produces again on recovery (an activity
   * runs again, a timer fires again, a child's end is looked up again). Not for an event whose
   * sender is told it was accepted (a message, a cancel request), nor while another event is
   * ahead of it. What the code logs while it handles the event is held until the event is
   * journaled, so the outside never hears of what a crash then undid.
   */
  private mayDeliverBeforeJournaled(event: EventRecord): boolean {
    return (
      event.t !== 'signal' &&
      event.t !== 'cancel' &&
      this.status === 'running' &&
      !this.endedWith &&
      !this.run.running &&
      this.unjournaled === undefined &&
      this.deliverable.length === 0
    );
  }

  /** The event the code has or is handling that is not journaled yet (see journalEvent). */
  private unjournaled:
    | {
        readonly event: EventRecord;
        /** What the code said while handling it, out once it is journaled. */
        readonly held: (() => void)[];
        readonly resolve: () => void;
        readonly reject: (error: Error) => void;
      }
    | undefined;

  /** Queues the unjournaled event (if any) ahead of `records`, all in one append. */
  private journalWithEvent(
    records: readonly { readonly record: JournalRecord; readonly done?: () => void }[],
  ): void {
    const pending = this.unjournaled;
    this.unjournaled = undefined;
    if (!pending) {
      this.queue.pushAll(records);
      return;
    }
    this.queue.pushAll([{ record: pending.event as never, done: pending.resolve }, ...records]);
    this.rejectIfQueueFails(pending.reject);
  }

  /** Ends the run at once (its code is not asked). */
  terminate(reason: string, from?: string): void {
    if (this.endedWith) return;
    if (this.status === 'blocked' || this.status === 'replaying') {
      this.finish({ kind: 'terminated', reason, ...(from !== undefined ? { from } : {}) }, []);
      return;
    }
    this.run.terminate(reason, from);
  }

  /**
   * `onExit` runs once the run has ended and its end is durable (continued runs hand their
   * watchers on).
   */
  watch(onExit: (outcome: Outcome) => void): void {
    const terminal = this.endedWith;
    if (terminal && this.announced && terminal.t !== 'continued') onExit(outcomeOf(terminal));
    else this.exitListeners.push(onExit);
  }

  /** The end is journaled: watchers are told at once. */
  private announced = false;

  /** Watchers waiting for this run, for the run that continues it. */
  takeWatchers(): ((outcome: Outcome) => void)[] {
    return this.exitListeners.splice(0);
  }

  /** Stops everything in flight without ending the run (the host shuts down). */
  stop(): void {
    // An event not journaled yet is dropped: its source produces it again on recovery.
    this.unjournaled?.reject(
      new LuactError(
        'UNAVAILABLE',
        `workflow ${this.stream} stopped before the event was journaled`,
      ),
    );
    this.unjournaled = undefined;
    for (const activity of this.activities.values())
      activity.cancel('the workflow host is stopping');
    this.activities.clear();
    for (const timer of this.timers.values()) timer.stop?.();
    this.timers.clear();
    if (!this.endedWith) this.run.abandon();
  }

  // ── Delivering events to the code ───────────────────────────────────────────────────────

  /**
   * Delivers the next durable event if the code is idle. Iterative: an event that wakes no
   * fiber finishes its task at once, which asks for the next — a loop, not a recursion.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.deliverNext();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumping = false;
  private pumpAgain = false;

  private deliverNext(): void {
    if (this.status === 'blocked' || this.endedWith || this.run.running) return;
    const next = this.deliverable.shift();
    if (next === undefined) {
      this.skipTimeIfWaitingOnlyForTimers();
      return;
    }
    const bytes = this.waiting.get(next);
    if (bytes !== undefined) {
      // From here on the run's mailbox counts it.
      this.waiting.delete(next);
      this.waitingBytes -= bytes;
    }
    const event = this.delivered++;
    this.run.outputTo(next === this.unjournaled?.event ? this.unjournaled.held : undefined);
    this.run.handle(next, this.history?.task(event)?.task.commands);
  }

  taskDone(_run: WorkflowRun, event: number, commands: readonly Command[]): void {
    if (!this.replayed(event, commands)) return;
    this.catchUp();
    this.pump();
  }

  resultComesNext(_run: WorkflowRun, seq: number): boolean {
    const next = this.deliverable.peek();
    return (
      this.status === 'replaying' &&
      this.unjournaled === undefined &&
      next?.t === 'activity' &&
      next.seq === seq
    );
  }

  ended(_run: WorkflowRun, event: number, commands: readonly Command[], end: RunEnd): void {
    const recorded = end.kind === 'terminated' ? undefined : this.history?.task(event);
    const difference = recorded && firstDifference(recorded.task.commands, commands);
    if (recorded && difference) {
      this.block({ position: recorded.position, event, ...difference });
      return;
    }
    this.finish(end, end.kind === 'terminated' ? [] : commands, event);
  }

  /**
   * Checks a replayed task against its record; a task the journal does not hold yet is new:
   * it is journaled and carried out. False when the run is blocked.
   */
  private replayed(event: number, commands: readonly Command[]): boolean {
    const recorded = this.history?.task(event);
    if (!recorded) {
      this.journalWithEvent([this.newTask(event, commands)]);
      return true;
    }
    const difference = firstDifference(recorded.task.commands, commands);
    if (!difference) return true;
    this.block({ position: recorded.position, event, ...difference });
    return false;
  }

  /** Once every recorded event is replayed, the run is live: what was in flight resumes. */
  private catchUp(): void {
    const history = this.history;
    if (!history || this.status !== 'replaying' || this.delivered < history.events.length) return;
    this.history = undefined;
    this.status = 'running';
    for (const command of history.commands()) this.resumeInFlight(command, history);
  }

  private resumeInFlight(command: Command, history: History): void {
    const redo = command.seq > history.executedThrough;
    switch (command.k) {
      case 'activity':
        if (history.isSettled(command.seq)) return;
        if (history.canceled.has(command.seq)) {
          void this.arrive({
            t: 'activity',
            at: this.env.now(),
            seq: command.seq,
            outcome: failure(new LuactError('CANCELED', 'activity canceled', { retryable: false })),
          });
        } else this.startActivity(command, 1);
        return;
      case 'timer': {
        if (history.isSettled(command.seq)) return;
        const last = history.lastTickOf(command.seq);
        if (command.every === undefined && last !== undefined) return;
        const due =
          command.every === undefined || last === undefined ? command.due : last + command.every;
        this.armTimer(command.seq, due, command.every);
        return;
      }
      case 'child':
        if (redo) this.carryOut(command);
        else if (command.follow !== 0 && !history.isSettled(command.seq)) this.awaitChild(command);
        return;
      case 'monitor':
        if (!history.isSettled(command.seq)) this.carryOut(command);
        return;
      case 'send':
      case 'cancel':
      case 'terminate':
        if (redo) this.carryOut(command);
        return;
      case 'cancel_activity':
      case 'cancel_timer':
      case 'version':
      case 'side_effect':
        return;
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  }

  // ── Carrying out commands ───────────────────────────────────────────────────────────────

  private execute(commands: readonly Command[]): void {
    for (const command of commands) this.carryOut(command);
    // A time-skipping run may now wait for nothing but its timers.
    if (this.env.timeSkip) this.pump();
  }

  private carryOut(command: Command): void {
    // A run that has ended starts no activity or timer; what it told others (messages,
    // signals, children started in its last task) still goes out.
    if (
      this.endedWith &&
      command.k !== 'send' &&
      command.k !== 'cancel' &&
      command.k !== 'terminate' &&
      command.k !== 'child'
    )
      return;
    switch (command.k) {
      case 'activity':
        this.startActivity(command, 1);
        break;
      case 'cancel_activity':
        this.activities.get(command.target)?.cancel('activity canceled by the workflow');
        break;
      case 'timer':
        this.armTimer(command.seq, command.due, command.every);
        break;
      case 'cancel_timer':
        this.timers.get(command.target)?.stop?.();
        this.timers.delete(command.target);
        break;
      case 'send':
        this.track(command.seq, this.env.effects.send(this.run, command));
        return;
      case 'child':
        this.track(
          command.seq,
          this.env.effects.startChild(this.run, command).then(() => {
            if (command.follow !== 0 && !this.endedWith) this.awaitChild(command);
          }),
          (error) => {
            if (command.follow !== 0 && !this.endedWith)
              void this.arrive({
                t: 'child',
                at: this.env.now(),
                seq: command.seq,
                outcome: failure(error),
              });
          },
        );
        return;
      case 'cancel':
      case 'terminate':
        this.track(command.seq, this.env.effects.signal(this.run, command));
        return;
      case 'monitor':
        this.awaited.add(command.seq);
        this.env.effects
          .watch(command.to, (outcome) => this.awaitedEnded('exit', command.seq, outcome))
          .catch((error: unknown) =>
            this.awaitedEnded('exit', command.seq, failure(LuactError.from(error))),
          );
        break;
      case 'version':
      case 'side_effect':
        break;
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
    this.executedMax = Math.max(this.executedMax, command.seq);
  }

  /** Notes a command in progress; failures are logged (and passed to `onError`). */
  private track(seq: number, work: Promise<void>, onError?: (error: LuactError) => void): void {
    this.executing.add(seq);
    work
      .catch((error: unknown) => {
        const failed = LuactError.from(error);
        this.env.log({
          level: 'warn',
          message: 'workflow command failed',
          fields: { seq, error: failed.message },
          labels: this.run.labels(),
        });
        onError?.(failed);
      })
      .finally(() => {
        this.executing.delete(seq);
        this.executedMax = Math.max(this.executedMax, seq);
      });
  }

  private awaitChild(command: Extract<Command, { k: 'child' }>): void {
    const target = `{${command.host}|${command.workflow}}`;
    this.awaited.add(command.seq);
    this.env.effects
      .watch(target, (outcome) => this.awaitedEnded('child', command.seq, outcome))
      .catch((error: unknown) =>
        this.awaitedEnded('child', command.seq, failure(LuactError.from(error))),
      );
  }

  private awaitedEnded(kind: 'child' | 'exit', seq: number, outcome: Outcome): void {
    if (!this.awaited.delete(seq) || this.endedWith) return;
    void this.arrive({ t: kind, at: this.env.now(), seq, outcome }).catch(() => {});
  }

  private startActivity(command: Extract<Command, { k: 'activity' }>, attempt: number): void {
    let invocation: ReturnType<CommandEffects['invoke']>;
    const deadline = this.activityDeadline(command, attempt);
    try {
      invocation = this.env.effects.invoke(
        withinDeadline(command, deadline, this.env.now()),
        attempt,
      );
    } catch (error) {
      this.activityEnded(command.seq, failure(LuactError.from(error)));
      return;
    }
    this.activities.set(command.seq, invocation);
    void invocation.outcome.then((outcome) => {
      if (this.activities.get(command.seq) !== invocation) return;
      if (outcome.ok) {
        this.activityEnded(command.seq, outcome);
        return;
      }
      const delay = retryDelay(command.options.retry, attempt, outcome.error);
      if (delay === undefined || (deadline !== undefined && this.env.now() + delay >= deadline)) {
        this.activityEnded(command.seq, outcome);
        return;
      }
      const retry = () => {
        if (this.activities.get(command.seq) === holder) this.startActivity(command, attempt + 1);
      };
      const holder = {
        cancel: (reason: string) => {
          stopRetry();
          this.activityEnded(
            command.seq,
            failure(new LuactError('CANCELED', reason, { retryable: false })),
          );
        },
      };
      this.activities.set(command.seq, holder);
      // Time skipping retries at once, moving workflow time on by the delay.
      if (this.env.timeSkip) this.env.skipTo(this.env.now() + delay);
      const stopRetry = this.env.timeSkip
        ? queueMicrotaskCancelable(retry)
        : this.env.schedule(delay, retry);
    });
  }

  /**
   * When an activity's attempts must all have ended (its schedule_to_close_timeout), counted
   * from the start of its first attempt here.
   */
  private activityDeadline(
    command: Extract<Command, { k: 'activity' }>,
    attempt: number,
  ): number | undefined {
    const total = command.options.scheduleToClose;
    if (total === undefined) return undefined;
    if (attempt === 1 || !this.activityDeadlines.has(command.seq))
      this.activityDeadlines.set(command.seq, this.env.now() + total);
    return this.activityDeadlines.get(command.seq);
  }

  private activityEnded(seq: number, outcome: Outcome): void {
    this.activities.delete(seq);
    this.activityDeadlines.delete(seq);
    if (this.endedWith) return;
    void this.arrive({ t: 'activity', at: this.env.now(), seq, outcome }).catch(() => {});
  }

  private armTimer(seq: number, due: number, every: number | undefined): void {
    this.timers.get(seq)?.stop?.();
    const timer: { due: number; every?: number; stop?: () => void } = {
      due,
      ...(every !== undefined ? { every } : {}),
    };
    this.timers.set(seq, timer);
    if (this.env.timeSkip) return;
    timer.stop = this.env.schedule(Math.max(0, due - this.env.now()), () => this.timerFired(seq));
  }

  private timerFired(seq: number): void {
    const timer = this.timers.get(seq);
    if (!timer || this.endedWith) return;
    const at = Math.max(timer.due, this.env.now());
    if (timer.every === undefined) this.timers.delete(seq);
    else {
      // The next tick after now, in step with the first (ticks missed while down are dropped).
      const steps = Math.max(1, Math.ceil((at - timer.due) / timer.every));
      this.armTimer(seq, timer.due + steps * timer.every, timer.every);
    }
    void this.arrive({ t: 'timer', at, seq }).catch(() => {});
  }

  /** Time skipping: a run that waits only for timers gets the earliest one now. */
  private skipTimeIfWaitingOnlyForTimers(): void {
    if (this.skipPending || !this.waitsOnlyForTimers()) return;
    // A moment of real time first: a message sent right after the run started (a test's
    // decision, say) arrives before a deadline it races is skipped to.
    this.skipPending = true;
    this.skipAfterGrace(0);
  }

  /**
   * Skips to the earliest timer after a grace of real time in which no event arrived and the
   * node's processes went idle (a loaded machine may take longer than the grace to run the
   * sender of a message the run is about to receive); a node that never goes idle (a process
   * that spins) postpones the skip a bounded number of times only.
   */
  private skipAfterGrace(postponed: number): void {
    this.env.schedule(SKIP_GRACE_MS, () => {
      if (postponed < SKIP_POSTPONEMENTS && this.env.nodeBusy?.() === true) {
        this.skipAfterGrace(postponed + 1);
        return;
      }
      this.skipPending = false;
      if (!this.waitsOnlyForTimers() || this.run.running || this.deliverable.length > 0) return;
      let earliest: [number, { due: number }] | undefined;
      for (const entry of this.timers)
        if (!earliest || entry[1].due < earliest[1].due) earliest = entry;
      if (!earliest) return;
      const [seq, timer] = earliest;
      this.env.skipTo(timer.due);
      this.timerFired(seq);
    });
  }

  private skipPending = false;

  /**
   * How long (workflow time, ms) until the earliest durable timer of a run that waits for
   * nothing else fires; undefined when it waits for something else too, or has no timer.
   */
  nextTimerIfOnlyWaitingForTimers(): number | undefined {
    if (this.status !== 'running' || this.endedWith || this.run.running) return undefined;
    if (this.activities.size > 0 || this.awaited.size > 0 || this.executing.size > 0)
      return undefined;
    let due: number | undefined;
    for (const timer of this.timers.values())
      if (due === undefined || timer.due < due) due = timer.due;
    return due === undefined ? undefined : Math.max(0, due - this.env.now());
  }

  private waitsOnlyForTimers(): boolean {
    if (!this.env.timeSkip || this.status !== 'running' || this.endedWith) return false;
    if (this.activities.size > 0 || this.awaited.size > 0 || this.executing.size > 0) return false;
    // An event on its way to the journal, or one the code handles before it is journaled,
    // comes first: it may change what the run waits for.
    return (
      !this.queue.busy &&
      this.unjournaled === undefined &&
      !this.run.running &&
      this.timers.size > 0
    );
  }

  // ── Ending ──────────────────────────────────────────────────────────────────────────────

  private finish(end: RunEnd, commands: readonly Command[], event?: number): void {
    if (this.endedWith) return;
    const at = this.env.now();
    const terminal = terminalRecord(end, at);
    this.endedWith = terminal;
    this.status = terminal.t;
    const task =
      commands.length > 0 && event !== undefined && !this.history?.task(event)
        ? [this.newTask(event, commands)]
        : [];
    for (const activity of this.activities.values()) activity.cancel('the workflow ended');
    this.activities.clear();
    for (const timer of this.timers.values()) timer.stop?.();
    this.timers.clear();
    this.journalWithEvent([
      ...task,
      {
        record: terminal as never,
        // The durable terminal record decides the end: watchers hear of it now. Closing the
        // stream (no more appends, listed as ended) follows, by the host.
        done: () => this.announceEnd(end, terminal),
      },
    ]);
  }

  private announceEnd(end: RunEnd, terminal: TerminalRecord): void {
    this.announced = true;
    this.env.ended(this, end, terminal);
    if (terminal.t === 'continued') return;
    const outcome = outcomeOf(terminal);
    for (const listener of this.exitListeners.splice(0)) listener(outcome);
  }

  /** The code ran past its budget or was stopped by the VM: blocked, like a divergence. */
  stalled(_run: WorkflowRun, problem: LuactError): void {
    this.blockWith(problem);
  }

  private block(divergence: Divergence): void {
    this.blockWith(divergenceError(this.run.workflowId, divergence));
  }

  private blockWith(problem: LuactError): void {
    // An event the code was handling stays journaled: it happened, whatever the code did.
    this.journalWithEvent([]);
    this.problem = problem;
    this.status = 'blocked';
    this.run.abandon();
    this.env.log({
      level: 'error',
      message: 'workflow blocked',
      fields: { error: problem.message, ...problem.details },
      labels: this.run.labels(),
    });
  }

  private journalFailed(error: Error): void {
    const failure = LuactError.from(error);
    if (failure.kind === 'CONFLICT') {
      // Not this node's run any more: stop here, without a trace; its owner drives it.
      this.stop();
      this.env.lost(this, failure);
      return;
    }
    this.problem = failure;
    this.status = 'blocked';
    this.stop();
    this.env.log({
      level: 'error',
      message: 'workflow journal append failed',
      fields: { error: this.problem.message },
      labels: this.run?.labels() ?? { stream: this.stream },
    });
  }

  /** The task record of new commands, to append; they are carried out once it is durable. */
  private newTask(event: number, commands: readonly Command[]) {
    return {
      record: this.taskRecord(event, commands) as unknown as JournalRecord,
      done: () => this.execute(commands),
    };
  }

  private taskRecord(event: number, commands: readonly Command[]): TaskRecord {
    const executed = this.executing.size > 0 ? Math.min(...this.executing) - 1 : this.executedMax;
    return { t: 'task', at: this.env.now(), event, commands, executed };
  }

  private endedError(): LuactError {
    return new LuactError('NOT_FOUND', `workflow ${this.run.workflowId} has ended`, {
      retryable: false,
    });
  }
}

/** Real milliseconds a time-skipping run waits, idle, before its next timer is skipped to. */
const SKIP_GRACE_MS = 10;
/** How many graces a skip waits at most for the node's processes to go idle. */
const SKIP_POSTPONEMENTS = 50;

function queueMicrotaskCancelable(fn: () => void): () => void {
  let canceled = false;
  queueMicrotask(() => {
    if (!canceled) fn();
  });
  return () => {
    canceled = true;
  };
}

export function failure(error: LuactError): Outcome {
  return { ok: false, error: error.toData() };
}

function terminalRecord(end: RunEnd, at: number): TerminalRecord {
  switch (end.kind) {
    case 'completed':
      return { t: 'completed', at, value: end.value };
    case 'failed':
      return { t: 'failed', at, error: end.error };
    case 'terminated':
      return { t: 'terminated', at, reason: end.reason, ...(end.from ? { from: end.from } : {}) };
    case 'continued':
      return { t: 'continued', at, entry: end.entry, args: end.args };
    default: {
      const unknown: never = end;
      throw new Error(`unknown run end ${JSON.stringify(unknown)}`);
    }
  }
}

/** What watchers of a run see when it has ended. */
export function outcomeOf(terminal: TerminalRecord): Outcome {
  switch (terminal.t) {
    case 'completed':
      return { ok: true, value: terminal.value };
    case 'failed':
      return { ok: false, error: terminal.error };
    case 'terminated':
      return failure(
        new LuactError('CANCELED', 'terminated', {
          retryable: false,
          details: { reason: terminal.reason },
        }),
      );
    case 'continued':
      return failure(new LuactError('INTERNAL', 'the run continued as new'));
    default: {
      const unknown: never = terminal;
      throw new Error(`unknown terminal record ${JSON.stringify(unknown)}`);
    }
  }
}

/** The activity command of one attempt: its timeout cut to the time left before `deadline`. */
function withinDeadline(
  command: Extract<Command, { k: 'activity' }>,
  deadline: number | undefined,
  now: number,
): Extract<Command, { k: 'activity' }> {
  if (deadline === undefined) return command;
  const left = Math.max(deadline - now, 0);
  const timeout = command.options.timeout;
  if (timeout !== undefined && timeout <= left) return command;
  return { ...command, options: { ...command.options, timeout: left } };
}
