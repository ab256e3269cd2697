import { LuactError } from '@luact/core';
import type { Clock } from '@luact/lua';
import type { ExitOutcome, ProcessSystem } from '@luact/process';
import type { ChildSpec, SupervisorConfig } from '@luact/registry';
import { ProcessRunnable } from './process-runnable.js';
import type { Runnable, RunnableEvents } from './runnable.js';
import { UnitRun } from './unit-run.js';

export interface SupervisorEnvironment {
  readonly system: ProcessSystem;
  readonly clock: Clock;
  /** The configuration of a nested supervisor entry. */
  readonly supervisorConfig: (entry: string) => SupervisorConfig;
  readonly log: (message: string, fields: Record<string, unknown>) => void;
}

interface Child {
  readonly spec: ChildSpec;
  run: UnitRun | undefined;
}

/**
 * An OTP supervisor (docs/concepts/supervision.md): children start in order and stop in reverse;
 * when one ends, its restart type says whether to restart (permanent always, transient after a
 * failure, temporary never) and the strategy says what else restarts with it (one_for_one: nothing;
 * one_for_all: every child; rest_for_one: the children after it). More than `max_restarts` restarts
 * within `period` make the supervisor stop its children and fail — which its own parent (a
 * supervisor, or the service that runs it) sees as a child failure.
 */
export class OtpSupervisor implements Runnable {
  private readonly children: Child[];
  private restarts: number[] = [];
  private events: RunnableEvents | undefined;
  /** Children exits are part of a shutdown or a group restart, not failures to handle. */
  private suspended = false;
  private finished = false;
  private work: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly config: SupervisorConfig,
    private readonly env: SupervisorEnvironment,
  ) {
    this.children = config.children.map((spec) => ({ spec, run: undefined }));
  }

  start(events: RunnableEvents): void {
    this.events = events;
    this.finished = false;
    this.suspended = false;
    this.restarts = [];
    this.serially(async () => {
      const failure = await this.startChildren(0);
      if (failure) await this.fail(failure);
      else events.started();
    });
  }

  cancel(reason: string): void {
    this.serially(async () => {
      await this.stopChildren(0, reason);
      this.finish({ ok: true, value: Uint8Array.of(0xc0) });
    });
  }

  terminate(error: LuactError): void {
    this.suspended = true;
    for (const child of [...this.children].reverse()) child.run?.unit.terminate(error);
    this.finish({ ok: false, error });
  }

  /** Children are started and stopped one operation at a time, in the order asked. */
  private serially(operation: () => Promise<void>): void {
    this.work = this.work
      .then(operation)
      .catch((error: unknown) => this.fail(LuactError.from(error)));
  }

  /** Starts children from `from` on, in order, each after the previous came up. */
  private async startChildren(from: number): Promise<LuactError | undefined> {
    for (const child of this.children.slice(from)) {
      if (child.spec.restart === 'temporary' && child.run !== undefined) continue;
      const run = this.startChild(child);
      const early = await run.startedOrExited();
      if (early && !early.ok) {
        return new LuactError(
          'UNAVAILABLE',
          `supervisor ${this.id}: child ${child.spec.id} failed to start: ${early.error.message}`,
          {
            details: { supervisor: this.id, child: child.spec.id, cause: early.error.toData() },
          },
        );
      }
    }
    return undefined;
  }

  private startChild(child: Child): UnitRun {
    const run = new UnitRun(this.unitFor(child.spec), (outcome) =>
      this.onChildExit(child, run, outcome),
    );
    child.run = run;
    return run;
  }

  private unitFor(spec: ChildSpec): Runnable {
    if (spec.start.kind === 'supervisor') {
      return new OtpSupervisor(
        `${this.id}/${spec.id}`,
        this.env.supervisorConfig(spec.start.entry),
        this.env,
      );
    }
    return new ProcessRunnable(this.env.system, {
      entry: spec.start.entry,
      host: this.config.host,
      input: spec.input,
    });
  }

  private onChildExit(child: Child, run: UnitRun, outcome: ExitOutcome): void {
    if (this.suspended || this.finished || child.run !== run) return;
    const failed = !outcome.ok;
    const restart =
      child.spec.restart === 'permanent' || (child.spec.restart === 'transient' && failed);
    this.env.log('supervisor child exited', {
      supervisor: this.id,
      child: child.spec.id,
      error: outcome.ok ? undefined : outcome.error.message,
      restart,
    });
    if (!restart) return;
    this.serially(async () => {
      if (this.finished) return;
      if (this.intensityExceeded()) {
        await this.fail(
          new LuactError(
            'UNAVAILABLE',
            `supervisor ${this.id}: more than ${this.config.max_restarts} restarts within ${this.config.period} ms (last: child ${child.spec.id}${outcome.ok ? '' : `: ${outcome.error.message}`})`,
            { details: { supervisor: this.id, child: child.spec.id } },
          ),
        );
        return;
      }
      if (this.config.strategy === 'one_for_one') {
        // A failure while coming up again is handled as one more restart.
        await this.startChild(child).startedOrExited();
        return;
      }
      const from = this.config.strategy === 'rest_for_one' ? this.children.indexOf(child) : 0;
      this.suspended = true;
      await this.stopChildren(from, 'supervisor restarting its children');
      this.suspended = false;
      const failure = await this.startChildren(from);
      if (failure) await this.fail(failure);
    });
  }

  /** A restart now: too many within the period? (A sliding window of restart times.) */
  private intensityExceeded(): boolean {
    const now = Number(this.env.clock.now() / 1_000_000n);
    this.restarts = this.restarts.filter((at) => now - at < this.config.period);
    this.restarts.push(now);
    return this.restarts.length > this.config.max_restarts;
  }

  /** Stops children from `from` on, last first; each is asked, then terminated after its timeout. */
  private async stopChildren(from: number, reason: string): Promise<void> {
    const wasSuspended = this.suspended;
    this.suspended = true;
    for (const child of this.children.slice(from).reverse()) {
      const run = child.run;
      if (!run?.running) continue;
      await run.stop(
        reason,
        child.spec.shutdown_timeout,
        this.env.clock,
        new LuactError(
          'TIMEOUT',
          `child ${child.spec.id} of ${this.id} did not stop within ${child.spec.shutdown_timeout} ms`,
        ),
      );
    }
    this.suspended = wasSuspended;
  }

  private async fail(error: LuactError): Promise<void> {
    if (this.finished) return;
    await this.stopChildren(0, 'supervisor failing');
    this.finish({ ok: false, error });
  }

  private finish(outcome: ExitOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.suspended = true;
    this.events?.exited(outcome);
  }
}
