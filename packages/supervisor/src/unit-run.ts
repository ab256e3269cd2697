import type { LuactError } from '@luact/core';
import type { Clock } from '@luact/lua';
import type { ExitOutcome } from '@luact/process';
import type { Runnable } from './runnable.js';

/** One start of a unit, as promises: when it came up, and how it ended. */
export class UnitRun {
  readonly started: Promise<void>;
  readonly exited: Promise<ExitOutcome>;
  private ended = false;

  constructor(
    readonly unit: Runnable,
    onExit: (outcome: ExitOutcome) => void,
  ) {
    let markStarted = () => {};
    let markExited = (_outcome: ExitOutcome) => {};
    this.started = new Promise((resolve) => {
      markStarted = resolve;
    });
    this.exited = new Promise((resolve) => {
      markExited = resolve;
    });
    unit.start({
      started: () => markStarted(),
      exited: (outcome) => {
        this.ended = true;
        markExited(outcome);
        onExit(outcome);
      },
    });
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Comes up (undefined), or ends first (its outcome). */
  startedOrExited(): Promise<ExitOutcome | undefined> {
    return Promise.race([this.started.then(() => undefined), this.exited]);
  }

  /**
   * Stops the unit the OTP way: asks it (CANCEL), waits up to `timeoutMs`, then terminates it.
   * Resolves true when it ended on its own.
   */
  async stop(
    reason: string,
    timeoutMs: number,
    clock: Clock,
    terminateWith: LuactError,
  ): Promise<boolean> {
    if (!this.running) return true;
    this.unit.cancel(reason);
    let cancelTimer = () => {};
    const timedOut = new Promise<'timeout'>((resolve) => {
      cancelTimer = clock.schedule(timeoutMs, () => resolve('timeout'));
    });
    const first = await Promise.race([this.exited.then(() => 'exited' as const), timedOut]);
    cancelTimer();
    if (first === 'exited') return true;
    this.unit.terminate(terminateWith);
    await this.exited;
    return false;
  }
}
