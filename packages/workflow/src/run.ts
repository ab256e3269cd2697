import { type ErrorData, LuactError } from '@luact/core';
import {
  type DeliveryField,
  encodeError,
  encodeValue,
  type FiberGroup,
  type GroupOutcome,
  type LuaVm,
  type PreparedEntry,
} from '@luact/lua';
import {
  type CallSite,
  type Envelope,
  EVENT_KIND,
  type ExitOutcome,
  errorFromBytes,
  eventDetails,
  type FedSink,
  type Follow,
  linkFailure,
  Mailbox,
  type Pid,
} from '@luact/process';
import { childWorkflowId } from './child-id.js';
import { sameCommand } from './divergence.js';
import { RunRandom } from './random.js';
import type { Bytes, Command, EventRecord, Outcome, StartedRecord } from './records.js';

/** How the code of a run ended. */
export type RunEnd =
  | { readonly kind: 'completed'; readonly value: Bytes }
  | { readonly kind: 'failed'; readonly error: ErrorData }
  | { readonly kind: 'terminated'; readonly reason: string; readonly from?: string }
  | { readonly kind: 'continued'; readonly entry: string; readonly args: Bytes };

/** Who drives a run: told when its code is idle again, and when it ends. */
export interface RunListener {
  /** Every fiber blocked after event number `event`; these are the commands issued since. */
  taskDone(run: WorkflowRun, event: number, commands: readonly Command[]): void;
  /**
   * Whether the next event the run gets is the recorded result of activity `seq`, handed
   * over as soon as the current task is done (a replay; see WorkflowRun.awaitsActivity).
   */
  resultComesNext(run: WorkflowRun, seq: number): boolean;
  /** The code ended while handling event `event`, after issuing `commands`. */
  ended(run: WorkflowRun, event: number, commands: readonly Command[], end: RunEnd): void;
  /**
   * The code cannot go on: a task ran past its budget without waiting, or the VM stopped it
   * where it could not be preempted. Nothing is journaled: fixed code can resume the run.
   */
  stalled(run: WorkflowRun, problem: LuactError): void;
}

/** A command as the code issues it: the run numbers it and notes where it came from. */
export type CommandRequest = Command extends infer C
  ? C extends Command
    ? Omit<C, 'seq' | 'site'>
    : never
  : never;

/** A child workflow this run started, and how it follows it. */
interface Child {
  readonly pid: string;
  readonly follow: number;
  readonly channel: number | undefined;
}

const FOLLOW = { monitor: 1, link: 2, exec: 4 } as const;

/** How a parent follows a child, as the journal records it (`follow` of a child command). */
export function followBits(follow: Follow, exec: boolean): number {
  return (
    (follow.monitor ? FOLLOW.monitor : 0) |
    (follow.link ? FOLLOW.link : 0) |
    (exec ? FOLLOW.exec : 0)
  );
}

/**
 * One run of a workflow executing deterministically (docs/concepts/workflows.md): the engine's pure
 * core. Its Lua code runs as a fiber group of the workflow host's VM; it is given one event at a
 * time, runs until every fiber is blocked, and reports the commands it issued meanwhile. Everything
 * the code sees — time, random numbers, message order, timer ticks, results — comes from the
 * events, so delivering the same events again (replay) makes it issue the same commands. It never
 * touches a journal, a timer or another process: its driver does.
 */
export class WorkflowRun implements FedSink {
  readonly pid: Pid;
  readonly mailbox: Mailbox;
  group: FiberGroup | undefined;
  private historyBytes = 0;
  /** Index of the event being handled or last handled (0: started). */
  private event = -1;
  private busy = false;
  private commands: Command[] = [];
  /** During replay: the commands the journal says this task issued. */
  private expected: readonly Command[] | undefined;
  /** During replay: every command of this task so far is the recorded one (see issue). */
  private asRecorded = false;
  private nextSeq = 1;
  /** Workflow time of the current event, Unix ms. */
  private nowMs: number;
  private readonly random: RunRandom;
  private readonly activities = new Map<number, number>();
  private readonly timersBySeq = new Map<number, { channel: number; every: number | undefined }>();
  private readonly timersByChannel = new Map<number, number>();
  private readonly children = new Map<number, Child>();
  private readonly monitored = new Map<number, string>();
  private continueAs: { entry: string; args: Bytes } | undefined;
  private termination: { reason: string; from?: string } | undefined;
  /** A linked child failed and the run, not trapping links, fails with it (see childEnded). */
  private linkFailed = false;
  /** Stopped without an end of its own (non-determinism, shutdown): nothing is reported. */
  private abandoned = false;
  /**
   * Ends a task that runs longer than the host's task_timeout without waiting. One timer
   * watches task after task (a timer per task would cost more than a replayed task itself):
   * when it fires it looks at the task running then, and sets itself again for that task.
   */
  private taskTimer: ReturnType<typeof setTimeout> | undefined;
  private taskStartedAt = 0;
  trapLinks = false;

  constructor(
    readonly started: StartedRecord,
    private readonly vm: LuaVm,
    private readonly entry: PreparedEntry,
    private readonly method: string,
    private readonly listener: RunListener,
    /** How long one task may run without every fiber waiting (real time, not workflow time). */
    private readonly taskTimeoutMs: number,
  ) {
    this.pid = workflowPid(started.host, started.workflow);
    this.mailbox = new Mailbox(this);
    this.nowMs = started.at;
    this.random = new RunRandom(started.seed);
  }

  get workflowId(): string {
    return this.started.workflow;
  }

  /** Events handled so far (the `history_length` workflow.info reports). */
  get eventsHandled(): number {
    return this.event + 1;
  }

  /** About how many bytes the events handled so far take (`workflow.history_size()`). */
  get historySize(): number {
    return this.historyBytes;
  }

  /** Re-executing a task the journal already holds (logs are not repeated). */
  get replaying(): boolean {
    return this.expected !== undefined;
  }

  /**
   * Where what the code says to the outside (its log lines) goes while it handles the current
   * event: out at once, or held until the event is journaled (the driver hands it an event
   * before it is durable, and a crash then must not leave a line about what never happened).
   */
  outputTo(held: (() => void)[] | undefined): void {
    this.heldOutput = held;
  }

  /** Emits `say` now, or when the current event is journaled. */
  output(say: () => void): void {
    if (this.heldOutput) this.heldOutput.push(say);
    else say();
  }

  private heldOutput: (() => void)[] | undefined;

  /** True between an event's delivery and the moment the code is idle again. */
  get running(): boolean {
    return this.busy;
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────

  /**
   * Hands the code its next event. `expected` (replay) are the commands the journal recorded
   * for this task; `workflow.version` reads them.
   */
  handle(event: EventRecord, expected?: readonly Command[]): void {
    if (this.busy) throw new Error(`workflow ${this.workflowId}: event delivered while busy`);
    this.event++;
    this.historyBytes += approximateSize(event);
    this.nowMs = Math.max(this.nowMs, event.at);
    this.commands = [];
    this.expected = expected;
    this.asRecorded = expected !== undefined;
    this.busy = true;
    this.taskStartedAt = performance.now();
    this.taskTimer ??= this.watchTask(this.taskTimeoutMs);
    this.apply(event);
    const group = this.group;
    if (this.busy && group && !group.ended && group.active === 0) this.finishTask();
  }

  private apply(event: EventRecord): void {
    switch (event.t) {
      case 'started':
        this.group = this.vm.startGroup(this, this.entry, this.method, event.args);
        for (const message of event.messages)
          this.receive(message.topic, message.from, message.payload);
        return;
      case 'signal':
        this.receive(event.topic, event.from, event.payload);
        return;
      case 'activity': {
        const channel = this.activities.get(event.seq);
        this.activities.delete(event.seq);
        if (channel !== undefined) this.deliverOutcome(channel, event.outcome);
        return;
      }
      case 'timer':
        this.fireTimer(event.seq);
        return;
      case 'child':
        this.childEnded(event.seq, event.outcome, event.at);
        return;
      case 'exit': {
        const target = this.monitored.get(event.seq);
        this.monitored.delete(event.seq);
        if (target !== undefined) this.deliverExit('exit', target, event.outcome, event.at);
        return;
      }
      case 'cancel':
        this.mailbox.deliverEvent(
          EVENT_KIND.cancel,
          event.from,
          eventDetails({
            kind: 'cancel',
            to: this.pid,
            from: event.from as Pid | undefined,
            at: nanos(event.at),
            reason: event.reason,
          }),
        );
        return;
      default: {
        const unknown: never = event;
        throw new Error(`unknown workflow event ${JSON.stringify(unknown)}`);
      }
    }
  }

  private receive(topic: string, from: string | undefined, payload: Bytes): void {
    const envelope: Envelope = { to: this.pid, from: from as Pid | undefined, topic, payload };
    this.mailbox.deliver(envelope);
  }

  private fireTimer(seq: number): void {
    const timer = this.timersBySeq.get(seq);
    if (!timer || !this.group) return;
    if (timer.every === undefined) {
      this.timersBySeq.delete(seq);
      this.timersByChannel.delete(timer.channel);
    }
    // Like a ticker in a process: a tick nobody received yet is not joined by another.
    if (this.group.pendingIn(timer.channel) > 0) return;
    if (timer.every === undefined)
      this.vm.deliverLast(this.group, timer.channel, nanos(this.nowMs));
    else this.vm.deliver(this.group, timer.channel, nanos(this.nowMs));
  }

  private childEnded(seq: number, outcome: Outcome, at: number): void {
    const child = this.children.get(seq);
    if (!child) return;
    this.children.delete(seq);
    if (child.channel !== undefined) this.deliverOutcome(child.channel, outcome);
    if ((child.follow & FOLLOW.monitor) !== 0) this.deliverExit('exit', child.pid, outcome, at);
    if ((child.follow & FOLLOW.link) !== 0 && !outcome.ok) {
      if (this.trapLinks) {
        this.deliverExit('link-down', child.pid, outcome, at);
      } else if (this.group) {
        // A failure of the run (the journaled end of its child), not a stall of its code.
        this.linkFailed = true;
        this.vm.killGroup(
          this.group,
          encodeError(linkFailure(child.pid, LuactError.fromData(outcome.error))),
        );
      }
    }
  }

  private deliverExit(kind: 'exit' | 'link-down', from: string, outcome: Outcome, at: number) {
    this.mailbox.deliverEvent(
      EVENT_KIND[kind],
      from,
      eventDetails({
        kind,
        to: this.pid,
        from: from as Pid,
        at: nanos(at),
        outcome: exitOutcomeOf(outcome),
      }),
    );
  }

  private deliverOutcome(channel: number, outcome: Outcome): void {
    if (!this.group) return;
    if (outcome.ok) this.vm.deliverLast(this.group, channel, 'ok', outcome.value);
    else
      this.vm.deliverLast(
        this.group,
        channel,
        'error',
        encodeValue(LuactError.fromData(outcome.error)),
      );
  }

  // ── What the code asks for (called by the workflow modules' host functions) ─────────────

  /** Workflow time: the time of the event being handled. */
  get now(): number {
    return this.nowMs;
  }

  /**
   * Numbers `request` (a fresh object: the run keeps it as the command, numbered in place)
   * and records it as one of the current task's commands.
   */
  issue(request: CommandRequest, callSite: CallSite): number {
    if (!this.busy)
      throw new Error(`workflow ${this.workflowId} issued a command while not handling an event`);
    const seq = this.nextSeq++;
    // Replaying what the journal holds, the recorded call site is the same: looking it up
    // again (a walk of the Lua stack) is only worth it for new commands and divergent ones.
    const recorded = this.expected?.[this.commands.length];
    const asRecorded =
      recorded !== undefined && recorded.seq === seq && sameCommand(recorded, request as Command);
    if (!asRecorded) this.asRecorded = false;
    const site = asRecorded ? recorded.site : callSite();
    // Numbered in place: copying it (a spread) was the costliest step of a replayed call.
    const command = request as Command & { seq: number; site?: Command['site'] };
    command.seq = seq;
    if (site) command.site = site;
    this.commands.push(command);
    return seq;
  }

  startTimer(channel: number, delayMs: number, everyMs: number | undefined, site: CallSite): void {
    this.stopTimer(channel, site);
    const seq = this.issue(
      { k: 'timer', due: this.nowMs + delayMs, ...(everyMs ? { every: everyMs } : {}) },
      site,
    );
    this.timersBySeq.set(seq, { channel, every: everyMs });
    this.timersByChannel.set(channel, seq);
  }

  /** True when the timer had not fired yet. */
  stopTimer(channel: number, site: CallSite): boolean {
    const seq = this.timersByChannel.get(channel);
    if (seq === undefined) return false;
    this.timersByChannel.delete(channel);
    this.timersBySeq.delete(seq);
    this.issue({ k: 'cancel_timer', target: seq }, site);
    return true;
  }

  callActivity(
    request: Extract<CommandRequest, { k: 'activity' }>,
    channel: number,
    site: CallSite,
  ) {
    const seq = this.issue(request, site);
    this.activities.set(seq, channel);
    return seq;
  }

  /**
   * The code waits at once for activity `seq` it has just called (`funcs.call`). Replaying a
   * task that issued what the journal recorded, this call last, with no other fiber running
   * and the result of this call the journal's next event, the task is done here and that
   * result handed over now: the fiber takes it without blocking, and the whole replay of a
   * run of such calls is one resume of its code instead of one per call.
   */
  awaitsActivity(seq: number): void {
    const expected = this.expected;
    if (
      !this.asRecorded ||
      expected === undefined ||
      this.commands.length !== expected.length ||
      this.group?.active !== 1 ||
      !this.listener.resultComesNext(this, seq)
    )
      return;
    this.finishTask();
  }

  /** True when the activity had not ended yet. */
  cancelActivity(seq: number, site: CallSite): boolean {
    if (!this.activities.has(seq)) return false;
    this.issue({ k: 'cancel_activity', target: seq }, site);
    return true;
  }

  startChild(
    request: Omit<Extract<CommandRequest, { k: 'child' }>, 'workflow'>,
    name: string | undefined,
    channel: number | undefined,
    site: CallSite,
  ): string {
    const seq = this.nextSeq;
    const workflow = name ?? childWorkflowId(this.workflowId, seq);
    this.issue({ ...request, workflow }, site);
    const pid = workflowPid(request.host, workflow);
    if (request.follow !== 0 || channel !== undefined)
      this.children.set(seq, { pid, follow: request.follow, channel });
    return pid;
  }

  monitor(target: string, site: CallSite): void {
    const seq = this.issue({ k: 'monitor', to: target }, site);
    this.monitored.set(seq, target);
  }

  /**
   * `workflow.version(change, min, max)`: new code gets `max`, recorded in the journal; a
   * replay returns what was recorded, or `min` where the old code had no such call.
   */
  version(change: string, min: number, max: number, site: CallSite): number {
    const expected = this.expected;
    if (expected !== undefined) {
      const recorded = expected[this.commands.length];
      if (recorded?.k !== 'version' || recorded.change !== change) return min;
      this.issue({ k: 'version', change, version: recorded.version }, site);
      return recorded.version;
    }
    this.issue({ k: 'version', change, version: max }, site);
    return max;
  }

  /**
   * A value the code must not compute again on replay (secure random bytes): computed once and
   * journaled with the task's commands; a replay gets the recorded value. Where the journal has
   * something else at this point, a fresh value is issued and the divergence check blocks the run.
   */
  sideEffect(what: string, compute: () => Bytes, site: CallSite): Bytes {
    const recorded = this.expected?.[this.commands.length];
    const value =
      recorded?.k === 'side_effect' && recorded.what === what ? recorded.value : compute();
    this.issue({ k: 'side_effect', what, value }, site);
    return value;
  }

  /** `process.upgrade(entry, ...)` inside a workflow: continue as new when the code unwinds. */
  continueAsNew(entry: string, args: Bytes): void {
    this.continueAs = { entry, args };
  }

  nextRandom(): number {
    return this.random.nextFloat();
  }

  randomBytes(count: number): Uint8Array {
    return this.random.bytes(count);
  }

  reseed(seed: number): void {
    this.random.reseed(seed);
  }

  // ── Ending ──────────────────────────────────────────────────────────────────────────────

  /** Ends the code at once (process.terminate, `luact workflow terminate`). */
  terminate(reason: string, from?: string): void {
    if (!this.group || this.group.ended) return;
    this.termination = { reason, ...(from !== undefined ? { from } : {}) };
    this.busy = true;
    this.vm.killGroup(
      this.group,
      encodeError(new LuactError('CANCELED', reason, { retryable: false })),
    );
  }

  /** Stops the code without an end of its own: the run is blocked or the host shuts down. */
  abandon(): void {
    this.abandoned = true;
    this.idle();
    this.stopWatching();
    if (this.group && !this.group.ended)
      this.vm.killGroup(this.group, encodeError(new LuactError('CANCELED', 'abandoned')));
  }

  // ── GroupOwner and FedSink ──────────────────────────────────────────────────────────────

  /** Replay needs the coroutines of a run to act in an order that timing cannot change. */
  readonly serialFibers = true;

  onGroupIdle(group: FiberGroup): void {
    if (group === this.group && this.busy) this.finishTask();
  }

  onGroupExit(group: FiberGroup, outcome: GroupOutcome): void {
    if (group !== this.group || this.abandoned) return;
    this.idle();
    this.stopWatching();
    if (!outcome.ok && outcome.killed && !this.termination && !this.linkFailed) {
      // The VM stopped the code (it overran max_slice where it could not be preempted).
      this.abandoned = true;
      this.listener.stalled(this, errorFromBytes(outcome.error));
      return;
    }
    const commands = this.commands;
    this.commands = [];
    this.listener.ended(this, this.event, commands, this.endOf(outcome));
  }

  private endOf(outcome: GroupOutcome): RunEnd {
    if (this.termination) return { kind: 'terminated', ...this.termination };
    if (this.continueAs) return { kind: 'continued', ...this.continueAs };
    if (outcome.ok) return { kind: 'completed', value: outcome.value };
    return { kind: 'failed', error: errorFromBytes(outcome.error).toData() };
  }

  labels(): Record<string, string> {
    return { pid: this.pid, entry: this.started.entry, workflow: this.workflowId };
  }

  deliver(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    if (this.group) this.vm.deliver(this.group, channel, a, b, c);
  }

  deliverLast(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    if (this.group) this.vm.deliverLast(this.group, channel, a, b, c);
  }

  pendingIn(channel: number): number {
    return this.group?.pendingIn(channel) ?? 0;
  }

  release(channel: number) {
    return this.group?.releaseChannel(channel) ?? [];
  }

  private idle(): void {
    this.busy = false;
  }

  /** The run has ended: its timer must not keep it in memory. */
  private stopWatching(): void {
    clearTimeout(this.taskTimer);
    this.taskTimer = undefined;
  }

  private watchTask(ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.taskTimer = undefined;
      if (!this.busy || this.abandoned) return;
      const left = this.taskStartedAt + this.taskTimeoutMs - performance.now();
      if (left > 0) this.taskTimer = this.watchTask(left);
      else this.overran();
    }, ms);
    timer.unref();
    return timer;
  }

  /** A task ran its whole budget without every fiber waiting: the run cannot go on. */
  private overran(): void {
    const fiber = this.group?.preempted;
    const site = fiber ? this.vm.callSite(fiber.thread) : undefined;
    const where = site ? ` at ${site.file}:${site.line}` : '';
    const problem = new LuactError(
      'TIMEOUT',
      `workflow ${this.workflowId}: its code ran ${this.taskTimeoutMs} ms without waiting${where} ` +
        `(the host's task_timeout); a workflow's code must wait (for a call, a timer, a message) ` +
        'between bursts of work',
      { retryable: false, details: site ? { file: site.file, line: site.line } : {} },
    );
    this.abandon();
    this.listener.stalled(this, problem);
  }

  private finishTask(): void {
    this.idle();
    const commands = this.commands;
    this.commands = [];
    this.expected = undefined;
    this.listener.taskDone(this, this.event, commands);
  }
}

/** A workflow's PID: its host and its workflow ID. */
export function workflowPid(host: string, workflow: string): Pid {
  return `{${host}|${workflow}}` as Pid;
}

function nanos(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

function exitOutcomeOf(outcome: Outcome): ExitOutcome {
  return outcome.ok
    ? { ok: true, value: outcome.value }
    : { ok: false, error: LuactError.fromData(outcome.error) };
}

/**
 * About the bytes a journal record of `value` takes: its strings, byte strings and numbers,
 * with a little for each field. Deterministic, so a replay reports the same sizes.
 */
function approximateSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 1;
  if (value instanceof Uint8Array) return value.length + 2;
  if (value instanceof LuactError) return value.kind.length + value.message.length + 4;
  if (Array.isArray(value)) {
    let size = 1;
    for (const item of value) size += approximateSize(item);
    return size;
  }
  if (value !== null && typeof value === 'object') {
    // for…in over a record's own keys: Object.entries would make an array per object.
    let size = 1;
    for (const key in value) size += key.length + approximateSize((value as never)[key]);
    return size;
  }
  return 9; // a number, a boolean or nil
}
