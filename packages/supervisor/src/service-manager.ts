import { type EntryId, LuactError } from '@luact/core';
import type { Clock, LogRecord } from '@luact/lua';
import type { ProcessSystem } from '@luact/process';
import {
  activateEntry,
  type EntryOf,
  type Environment,
  type KindConfigs,
  type Lifecycle,
  type RegistrySnapshot,
  type SupervisorConfig,
} from '@luact/registry';
import { OtpSupervisor } from './otp-supervisor.js';
import { ProcessRunnable } from './process-runnable.js';
import type { Runnable } from './runnable.js';
import type { ServiceState } from './service-machine.js';
import { ServiceRunner, type ServiceStatus } from './service-runner.js';

export interface ServiceManagerOptions {
  readonly system: ProcessSystem;
  readonly snapshot: RegistrySnapshot;
  readonly env: Environment;
  readonly clock: Clock;
  /** Randomness for restart jitter (injectable so tests are exact). */
  readonly random?: () => number;
  readonly log?: (record: LogRecord) => void;
}

/** States in which a service has nothing more to do by itself. */
const SETTLED = new Set<ServiceState>(['running', 'exited', 'failed', 'stopped']);
const DOWN = new Set<ServiceState>(['stopped', 'exited', 'failed', 'unknown']);

/**
 * The services of a node: every process.service entry, and every process.supervisor entry that
 * is not the child of another supervisor. Dependencies (`lifecycle.requires` and references)
 * order them: a service starts once what it needs runs, independent ones start together, and
 * shutdown goes the other way round.
 */
export class ServiceManager {
  private readonly services = new Map<string, ServiceRunner>();

  constructor(private readonly options: ServiceManagerOptions) {
    const { snapshot } = options;
    const nested = new Set<string>();
    for (const supervisor of snapshot.ofKind('process.supervisor')) {
      for (const reference of supervisor.references) {
        if (
          reference.path[0] === 'children' &&
          snapshot.get(reference.target)?.kind === 'process.supervisor'
        ) {
          nested.add(reference.target);
        }
      }
    }
    for (const entry of snapshot.ofKind('process.service')) {
      const config = this.activate(entry.id, 'process.service');
      const unit = new ProcessRunnable(options.system, {
        entry: config.process,
        host: config.host,
        input: config.input,
      });
      this.add(entry.id, unit, config.lifecycle);
    }
    for (const entry of snapshot.ofKind('process.supervisor')) {
      if (nested.has(entry.id)) continue;
      const config = this.activate(entry.id, 'process.supervisor');
      this.add(
        entry.id,
        new OtpSupervisor(entry.id, config, this.supervisorEnvironment()),
        config.lifecycle,
      );
    }
    for (const service of this.services.values())
      service.dependOn(this.nearestServices(service.id));
  }

  /**
   * Starts the services marked `auto_start` (or the given ones) with everything they depend on,
   * and resolves once each has settled: running, done, failed, waiting for a dependency that
   * failed, or restarting after a failed attempt. A start never waits out a crash loop: the
   * caller sees `lastError` and decides (`luact test` fails, `luact run` reports and goes on).
   */
  async start(ids?: readonly string[]): Promise<ServiceStatus[]> {
    const wanted =
      ids ?? [...this.services.values()].filter((s) => s.lifecycle.auto_start).map((s) => s.id);
    const starting = new Set<ServiceRunner>();
    const add = (service: ServiceRunner) => {
      if (starting.has(service)) return;
      starting.add(service);
      for (const id of service.dependencyIds) add(this.require(id));
    };
    for (const id of wanted) add(this.require(id));
    for (const service of starting) service.start();
    return Promise.all(
      [...starting].map((service) => service.until((status) => this.settled(status))),
    );
  }

  /**
   * Stops every service that is up, dependents first: a service stops only after everything
   * that depends on it has. Resolves with the services that had to be terminated (did not
   * end within their stop_timeout) and everyone's final status.
   */
  async stop(): Promise<{ readonly terminated: string[]; readonly statuses: ServiceStatus[] }> {
    const stopped = new Map<ServiceRunner, Promise<ServiceStatus>>();
    const stop = (service: ServiceRunner): Promise<ServiceStatus> => {
      let done = stopped.get(service);
      if (done) return done;
      done = Promise.all(service.dependentServices.map(stop)).then(() => {
        if (DOWN.has(service.current)) return service.status();
        service.stop();
        return service.until((status) => DOWN.has(status.state));
      });
      stopped.set(service, done);
      return done;
    };
    const statuses = await Promise.all([...this.services.values()].map(stop));
    const terminated = [...this.services.values()]
      .filter((service) => service.stoppedByForce)
      .map((service) => service.id);
    return { terminated, statuses };
  }

  status(id: string): ServiceStatus | undefined {
    return this.services.get(id)?.status();
  }

  list(): ServiceStatus[] {
    return [...this.services.values()]
      .map((service) => service.status())
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * The services `id` needs directly: those its references reach without passing through
   * another service (which waits for its own). Through other entries, e.g. a nested
   * supervisor, the search goes on.
   */
  private nearestServices(id: string): ServiceRunner[] {
    const { graph } = this.options.snapshot;
    const found = new Set<ServiceRunner>();
    const seen = new Set<EntryId>([id as EntryId]);
    const pending = [...graph.dependenciesOf(id as EntryId)];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      const service = this.services.get(next);
      if (service) found.add(service);
      else pending.push(...graph.dependenciesOf(next));
    }
    return [...found];
  }

  private add(id: string, unit: Runnable, lifecycle: Lifecycle): void {
    const service = new ServiceRunner(id, unit, lifecycle, {
      clock: this.options.clock,
      random: this.options.random ?? Math.random,
      onChange: (status, previous) => this.logChange(status, previous),
      onAttemptFailed: (status, afterRunning) => this.logFailedAttempt(status, afterRunning),
    });
    this.services.set(id, service);
  }

  private require(id: string): ServiceRunner {
    const service = this.services.get(id);
    if (!service) throw new LuactError('NOT_FOUND', `no service ${id}`, { retryable: false });
    return service;
  }

  /** Settled, failed at least once, or blocked behind a dependency that will not come up. */
  private settled(status: ServiceStatus): boolean {
    if (SETTLED.has(status.state)) return true;
    if (status.state !== 'starting') return false;
    return (
      status.attempts > 0 ||
      status.waitingFor.some((id) => {
        const service = this.services.get(id);
        return (
          service !== undefined &&
          (service.current === 'failed' ||
            service.current === 'stopped' ||
            service.status().attempts > 0)
        );
      })
    );
  }

  private activate<K extends 'process.service' | 'process.supervisor'>(
    id: string,
    kind: K,
  ): KindConfigs[K] {
    const entry = this.options.snapshot.get(id);
    if (entry?.kind !== kind)
      throw new LuactError('NOT_FOUND', `no ${kind} entry ${id}`, { retryable: false });
    const activated = activateEntry(entry as EntryOf<K>, this.options.env);
    if (!activated.ok) {
      throw new LuactError('INVALID', activated.error.map((d) => d.message).join('; '), {
        retryable: false,
      });
    }
    return activated.value;
  }

  private supervisorEnvironment() {
    return {
      system: this.options.system,
      clock: this.options.clock,
      supervisorConfig: (entry: string): SupervisorConfig =>
        this.activate(entry, 'process.supervisor'),
      log: (message: string, fields: Record<string, unknown>) =>
        this.options.log?.({ level: 'info', message, fields, labels: {} }),
    };
  }

  /** Every failed attempt is said at once, with its error; `luact services` only shows the last. */
  private logFailedAttempt(status: ServiceStatus, afterRunning: boolean): void {
    const limit = this.services.get(status.id)?.lifecycle.restart.max_attempts ?? 0;
    this.options.log?.({
      level: 'error',
      message: `service ${status.id} ${afterRunning ? 'failed' : 'failed to start'}: ${status.lastError ?? 'unknown error'}`,
      fields: {
        service: status.id,
        attempt: status.attempts,
        ...(limit > 0 ? { max_attempts: limit } : {}),
        next: status.state === 'failed' ? 'gave up' : 'restarting after backoff',
      },
      labels: { service: status.id },
    });
  }

  private logChange(status: ServiceStatus, previous: ServiceState): void {
    this.options.log?.({
      level: status.state === 'failed' ? 'error' : 'info',
      message: 'service state',
      fields: {
        service: status.id,
        state: status.state,
        previous,
        attempts: status.attempts,
        ...(status.lastError !== undefined ? { error: status.lastError } : {}),
        ...(status.waitingFor.length > 0 ? { waiting_for: status.waitingFor } : {}),
      },
      labels: { service: status.id },
    });
  }
}
