import { LuactError } from '@luact/core';
import type { ExitOutcome } from '@luact/process';
import type { Lifecycle } from '@luact/registry';
import { assign, setup } from 'xstate';
import { restartDelay } from './backoff.js';

/** The observable states of a service (docs/concepts/supervision.md). */
export type ServiceState =
  | 'unknown'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'failed'
  | 'exited';

export type ServiceEvent =
  | { readonly type: 'START' }
  | { readonly type: 'STOP' }
  /** Every dependency is running (or has exited after doing its job). */
  | { readonly type: 'DEPS_READY' }
  | { readonly type: 'STARTED' }
  | { readonly type: 'EXITED'; readonly outcome: ExitOutcome };

/** What the machine does to the world; the service runner implements it. */
export interface ServiceEffects {
  /** Starts the unit; it reports STARTED and EXITED. */
  spawn(): void;
  /** Asks the unit to stop (CANCEL). */
  cancel(): void;
  terminateSlowStart(): void;
  terminateSlowStop(): void;
  /** Sends DEPS_READY when every dependency is running. */
  checkDependencies(): void;
}

export interface ServiceContext {
  readonly id: string;
  readonly lifecycle: Lifecycle;
  readonly random: () => number;
  readonly effects: ServiceEffects;
  /** Failures in a row; reset by running longer than stable_threshold, and by a START. */
  readonly attempts: number;
  readonly lastError: LuactError | undefined;
  /** The last stop had to terminate the unit after stop_timeout. */
  readonly forced: boolean;
}

export interface ServiceInput {
  readonly id: string;
  readonly lifecycle: Lifecycle;
  readonly random: () => number;
  readonly effects: ServiceEffects;
}

const failure = (outcome: ExitOutcome) => (outcome.ok ? undefined : outcome.error);

/** An exit while spawning or running: done, given up, or restarted after a backoff. */
const EXIT_TRANSITIONS = [
  { guard: 'exitedNormally', target: '#service.exited', actions: 'clearError' },
  { guard: 'givesUp', target: '#service.failed', actions: 'recordFailure' },
  { target: '#service.starting.backoff', actions: 'recordFailure' },
] as const;

/**
 * The lifecycle of one service as an xstate machine. The side effects (spawning, cancelling,
 * terminating, checking dependencies) go to the `effects` of its input, so one machine serves
 * every service (providing actions per service would copy the machine each time); timers are
 * xstate delays, driven by the clock given to the actor (so tests run on a fake clock).
 *
 *   unknown ─START→ starting.waiting ─DEPS_READY→ starting.spawning ─STARTED→ running
 *   running/spawning ─EXITED ok→ exited | error, non-retryable or attempts used up → failed
 *                    | error, retryable → starting.backoff ─(delay)→ starting.waiting
 *   any live state ─STOP→ stopping ─EXITED→ stopped (terminated after stop_timeout)
 */
export const serviceMachine = setup({
  types: {
    context: {} as ServiceContext,
    events: {} as ServiceEvent,
    input: {} as ServiceInput,
  },
  actions: {
    spawn: ({ context }) => context.effects.spawn(),
    cancel: ({ context }) => context.effects.cancel(),
    terminateSlowStart: ({ context }) => context.effects.terminateSlowStart(),
    terminateSlowStop: ({ context }) => context.effects.terminateSlowStop(),
    checkDependencies: ({ context }) => context.effects.checkDependencies(),
    clearError: assign({ lastError: undefined }),
    recordFailure: assign({
      lastError: ({ event }) => (event.type === 'EXITED' ? failure(event.outcome) : undefined),
      attempts: ({ context }) => context.attempts + 1,
    }),
  },
  guards: {
    exitedNormally: ({ event }) => event.type === 'EXITED' && event.outcome.ok,
    givesUp: ({ context, event }) => {
      const error = event.type === 'EXITED' ? failure(event.outcome) : undefined;
      if (error && !error.retryable) return true;
      const limit = context.lifecycle.restart.max_attempts;
      return limit > 0 && context.attempts + 1 > limit;
    },
  },
  delays: {
    restartDelay: ({ context }) =>
      restartDelay(context.lifecycle.restart, context.attempts, context.random),
    startTimeout: ({ context }) => context.lifecycle.start_timeout,
    stopTimeout: ({ context }) => context.lifecycle.stop_timeout,
    stableThreshold: ({ context }) => context.lifecycle.stable_threshold,
  },
}).createMachine({
  id: 'service',
  context: ({ input }) => ({ ...input, attempts: 0, lastError: undefined, forced: false }),
  initial: 'unknown',
  states: {
    unknown: {
      on: { START: 'starting' },
    },
    starting: {
      initial: 'waiting',
      states: {
        waiting: {
          entry: 'checkDependencies',
          on: { DEPS_READY: 'spawning' },
        },
        backoff: {
          after: { restartDelay: 'waiting' },
        },
        spawning: {
          entry: 'spawn',
          after: { startTimeout: { actions: 'terminateSlowStart' } },
          on: {
            STARTED: '#service.running',
            STOP: '#service.stopping',
            EXITED: EXIT_TRANSITIONS,
          },
        },
      },
      on: {
        STOP: '#service.stopped',
      },
    },
    running: {
      after: { stableThreshold: { actions: assign({ attempts: 0 }) } },
      on: { STOP: 'stopping', EXITED: EXIT_TRANSITIONS },
    },
    stopping: {
      entry: ['cancel', assign({ forced: false })],
      after: { stopTimeout: { actions: ['terminateSlowStop', assign({ forced: true })] } },
      on: { EXITED: 'stopped' },
    },
    stopped: {
      on: { START: { target: 'starting', actions: assign({ attempts: 0, lastError: undefined }) } },
    },
    failed: {
      on: { START: { target: 'starting', actions: assign({ attempts: 0 }) } },
    },
    exited: {
      on: { START: { target: 'starting', actions: assign({ attempts: 0, lastError: undefined }) } },
    },
  },
});

/** The top-level state of a machine snapshot value. */
export function stateOf(value: unknown): ServiceState {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as ServiceState;
}

export function startTimeoutError(id: string, ms: number): LuactError {
  return new LuactError('TIMEOUT', `service ${id} did not start within ${ms} ms`);
}
