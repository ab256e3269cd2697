import { LuactError } from '@luact/core';
import type { Clock } from '@luact/lua';
import type { Lifecycle } from '@luact/registry';
import { type Actor, createActor } from 'xstate';
import type { Runnable } from './runnable.js';
import {
  type ServiceEffects,
  type ServiceEvent,
  type ServiceState,
  serviceMachine,
  startTimeoutError,
  stateOf,
} from './service-machine.js';

/** What `luact services` and the Lua `supervisor` module show of a service. */
export interface ServiceStatus {
  readonly id: string;
  readonly state: ServiceState;
  /** Failures in a row since the last stable run. */
  readonly attempts: number;
  readonly lastError: string | undefined;
  /** Unix milliseconds when it entered its current state. */
  readonly since: number;
  /** While starting: the services it waits for. */
  readonly waitingFor: readonly string[];
}

export interface ServiceRunnerOptions {
  readonly clock: Clock;
  readonly random: () => number;
  /** Every change of top-level state, with the state before it. */
  readonly onChange: (status: ServiceStatus, previous: ServiceState) => void;
  /**
   * Every attempt that ended with an error (the status holds it and the attempt count);
   * `afterRunning` tells a crash of a running unit from a failed start.
   */
  readonly onAttemptFailed?: (status: ServiceStatus, afterRunning: boolean) => void;
}

/** A dependency is satisfied while it runs, or once it has done its one-shot job. */
const SATISFIES = new Set<ServiceState>(['running', 'exited']);

/**
 * One service: its state machine (xstate actor), the unit it runs, and the services it needs.
 * It starts its unit only when every dependency is running; meanwhile it waits in `starting`.
 */
export class ServiceRunner {
  private readonly actor: Actor<typeof serviceMachine>;
  private dependencies: readonly ServiceRunner[] = [];
  private readonly dependents: ServiceRunner[] = [];
  /** Dependencies not running (nor done): kept up to date by them, so checks are O(1). */
  private unsatisfied = 0;
  private state: ServiceState = 'unknown';
  private since: number;
  /** Each start of the unit gets a number, so reports of an earlier run are ignored. */
  private run = 0;
  /** Checks of pending `until` calls. */
  private readonly watchers = new Set<() => void>();
  /** The failure count last seen, so each new failure is reported once. */
  private failuresSeen = 0;
  /** The current attempt reached `running` (so its failure is a crash, not a failed start). */
  private reachedRunning = false;

  constructor(
    readonly id: string,
    private readonly runnable: Runnable,
    readonly lifecycle: Lifecycle,
    private readonly options: ServiceRunnerOptions,
  ) {
    this.since = nowMs(options.clock);
    const effects: ServiceEffects = {
      spawn: () => this.startUnit(),
      cancel: () => this.runnable.cancel('service stopping'),
      terminateSlowStart: () =>
        this.runnable.terminate(startTimeoutError(id, lifecycle.start_timeout)),
      terminateSlowStop: () =>
        this.runnable.terminate(
          new LuactError(
            'TIMEOUT',
            `service ${id} did not stop within ${lifecycle.stop_timeout} ms`,
          ),
        ),
      checkDependencies: () => {
        if (this.unsatisfied === 0) this.send({ type: 'DEPS_READY' });
      },
    };
    this.actor = createActor(serviceMachine, {
      input: { id, lifecycle, random: options.random, effects },
      clock: {
        setTimeout: (fn: (...args: unknown[]) => void, ms: number) =>
          options.clock.schedule(ms, fn),
        clearTimeout: (cancel: unknown) => (cancel as () => void)(),
      },
    });
    this.actor.subscribe((snapshot) => {
      this.observe(stateOf(snapshot.value));
      this.noticeFailure(snapshot.context.attempts, snapshot.context.lastError);
    });
    this.actor.start();
  }

  /** The services this one needs; it tells them to report their changes here. */
  dependOn(services: readonly ServiceRunner[]): void {
    this.dependencies = services;
    this.unsatisfied = services.filter((service) => !SATISFIES.has(service.state)).length;
    for (const service of services) service.dependents.push(this);
  }

  /** The services that need this one. */
  get dependentServices(): readonly ServiceRunner[] {
    return this.dependents;
  }

  get dependencyIds(): readonly string[] {
    return this.dependencies.map((service) => service.id);
  }

  start(): void {
    this.send({ type: 'START' });
  }

  stop(): void {
    this.send({ type: 'STOP' });
  }

  get current(): ServiceState {
    return this.state;
  }

  /** The last stop had to terminate the unit after its stop_timeout. */
  get stoppedByForce(): boolean {
    return this.actor.getSnapshot().context.forced;
  }

  status(): ServiceStatus {
    const { attempts, lastError } = this.actor.getSnapshot().context;
    return {
      id: this.id,
      state: this.state,
      attempts,
      lastError: lastError?.message,
      since: this.since,
      waitingFor: this.state === 'starting' ? this.waitingFor() : [],
    };
  }

  /**
   * Resolves with the status once `accept` holds for it: checked now, and whenever this service
   * or one of its dependencies changes state.
   */
  until(accept: (status: ServiceStatus) => boolean): Promise<ServiceStatus> {
    return new Promise((resolve) => {
      const check = () => {
        const status = this.status();
        if (!accept(status)) return;
        this.watchers.delete(check);
        resolve(status);
      };
      this.watchers.add(check);
      check();
    });
  }

  private waitingFor(): string[] {
    return this.dependencies
      .filter((service) => !SATISFIES.has(service.state))
      .map((service) => service.id);
  }

  private send(event: ServiceEvent): void {
    this.actor.send(event);
  }

  private startUnit(): void {
    const run = ++this.run;
    this.runnable.start({
      started: () => {
        if (run === this.run) this.send({ type: 'STARTED' });
      },
      exited: (outcome) => {
        if (run === this.run) this.send({ type: 'EXITED', outcome });
      },
    });
  }

  private noticeFailure(attempts: number, lastError: LuactError | undefined): void {
    const failed = attempts > this.failuresSeen && lastError !== undefined;
    this.failuresSeen = attempts;
    if (failed) {
      this.options.onAttemptFailed?.(this.status(), this.reachedRunning);
      this.reachedRunning = false;
      for (const check of [...this.watchers]) check();
      for (const dependent of this.dependents) for (const check of [...dependent.watchers]) check();
    }
  }

  private observe(state: ServiceState): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    if (state === 'running') this.reachedRunning = true;
    this.since = nowMs(this.options.clock);
    this.options.onChange(this.status(), previous);
    for (const check of [...this.watchers]) check();
    const change = Number(SATISFIES.has(previous)) - Number(SATISFIES.has(state));
    // Dependents waiting for this one may go on now, and their watchers may care.
    for (const dependent of this.dependents) {
      dependent.unsatisfied += change;
      if (
        change < 0 &&
        dependent.unsatisfied === 0 &&
        dependent.actor.getSnapshot().matches({ starting: 'waiting' })
      ) {
        dependent.send({ type: 'DEPS_READY' });
      }
      for (const check of [...dependent.watchers]) check();
    }
  }
}

function nowMs(clock: Clock): number {
  return Number(clock.now() / 1_000_000n);
}
