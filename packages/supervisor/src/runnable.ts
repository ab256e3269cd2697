import type { LuactError } from '@luact/core';
import type { ExitOutcome } from '@luact/process';

export interface RunnableEvents {
  /** The unit is up: its process blocked for the first time (or all its children are up). */
  started(): void;
  /** The unit ended: its value, or its error. Called once per start. */
  exited(outcome: ExitOutcome): void;
}

/**
 * What a service runs: a process, or an OTP supervisor tree. Starting never throws: a unit that
 * cannot start reports an exit with the reason.
 */
export interface Runnable {
  start(events: RunnableEvents): void;
  /** Asks the unit to stop (a CANCEL event); it decides when to return. */
  cancel(reason: string): void;
  /** Ends the unit at once. */
  terminate(error: LuactError): void;
}
