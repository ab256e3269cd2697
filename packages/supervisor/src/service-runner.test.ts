import { LuactError } from '@luact/core';
import { ManualClock } from '@luact/lua';
import { DEFAULT_LIFECYCLE, type Lifecycle } from '@luact/registry';
import { describe, expect, it } from 'vitest';
import type { Runnable, RunnableEvents } from './runnable.js';
import type { ServiceState } from './service-machine.js';
import { ServiceRunner } from './service-runner.js';

/** A unit the test drives: it records what the runner asks and reports what the test says. */
class FakeUnit implements Runnable {
  readonly startedAt: number[] = [];
  readonly cancels: string[] = [];
  readonly terminations: string[] = [];
  private events: RunnableEvents | undefined;

  constructor(
    private readonly clock: ManualClock,
    /** What a start does by itself: fail at once, come up, or do nothing (the test decides). */
    private readonly onStart: 'fail' | 'ready' | 'nothing' = 'nothing',
  ) {}

  start(events: RunnableEvents): void {
    this.events = events;
    this.startedAt.push(Number(this.clock.now() / 1_000_000n));
    if (this.onStart === 'fail') this.fail(new LuactError('UNAVAILABLE', 'down'));
    if (this.onStart === 'ready') events.started();
  }
  cancel(reason: string): void {
    this.cancels.push(reason);
  }
  terminate(error: LuactError): void {
    this.terminations.push(error.message);
    this.fail(error);
  }
  ready(): void {
    this.events?.started();
  }
  fail(error: LuactError): void {
    this.events?.exited({ ok: false, error });
  }
  exit(): void {
    this.events?.exited({ ok: true, value: Uint8Array.of(0xc0) });
  }
}

const START_MS = 1_700_000_000_000;

function lifecycle(
  overrides: Partial<Omit<Lifecycle, 'restart'>> & { restart?: Partial<Lifecycle['restart']> } = {},
): Lifecycle {
  return {
    ...DEFAULT_LIFECYCLE,
    ...overrides,
    restart: { ...DEFAULT_LIFECYCLE.restart, jitter: 0, ...overrides.restart },
  };
}

function service(unit: Runnable, clock: ManualClock, config: Lifecycle, random = () => 0.5) {
  const changes: ServiceState[] = [];
  const runner = new ServiceRunner('app:svc', unit, config, {
    clock,
    random,
    onChange: (status) => changes.push(status.state),
  });
  return { runner, changes };
}

/** Lets queued xstate events and microtasks settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a service restarting with backoff', () => {
  it('waits exactly 1s, 2s, 4s, 8s and then the 10s maximum between restarts', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'fail');
    const { runner } = service(
      unit,
      clock,
      lifecycle({ restart: { initial_delay: 1_000, max_delay: 10_000 } }),
    );
    runner.start();
    for (let i = 0; i < 7; i++) {
      await settle();
      clock.advance(20_000);
    }
    const gaps = unit.startedAt.slice(1).map((at, i) => at - (unit.startedAt[i] ?? 0));
    expect(gaps.slice(0, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('keeps jittered delays within ±jitter of the nominal delay', async () => {
    for (const [random, expected] of [
      [() => 0, 900],
      [() => 0.999_999, 1_100],
    ] as const) {
      const clock = new ManualClock(START_MS);
      const unit = new FakeUnit(clock, 'fail');
      const { runner } = service(unit, clock, lifecycle({ restart: { jitter: 0.1 } }), random);
      runner.start();
      await settle();
      clock.advance(899);
      await settle();
      expect(unit.startedAt).toHaveLength(1);
      clock.advance(expected - 899 + 1);
      await settle();
      expect(unit.startedAt).toHaveLength(2);
      expect((unit.startedAt[1] ?? 0) - START_MS).toBeCloseTo(expected, -1);
    }
  });

  it('gives up after max_attempts restarts: failed, and no further start', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'fail');
    const { runner, changes } = service(unit, clock, lifecycle({ restart: { max_attempts: 3 } }));
    runner.start();
    for (let i = 0; i < 10; i++) {
      await settle();
      clock.advance(60_000);
    }
    expect(unit.startedAt).toHaveLength(4);
    expect(runner.status()).toMatchObject({ state: 'failed', attempts: 4, lastError: 'down' });
    expect(changes.at(-1)).toBe('failed');
  });

  it('forgets earlier failures after running longer than stable_threshold', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'ready');
    const { runner } = service(unit, clock, lifecycle({ stable_threshold: 5_000 }));
    runner.start();
    await settle();
    unit.fail(new LuactError('UNAVAILABLE', 'blip'));
    await settle();
    clock.advance(1_000);
    await settle();
    unit.fail(new LuactError('UNAVAILABLE', 'blip'));
    await settle();
    expect(runner.status().attempts).toBe(2);
    clock.advance(2_000);
    await settle();
    expect(runner.status().state).toBe('running');
    clock.advance(5_000);
    await settle();
    expect(runner.status().attempts).toBe(0);
    unit.fail(new LuactError('UNAVAILABLE', 'blip'));
    await settle();
    const before = unit.startedAt.length;
    clock.advance(1_000);
    await settle();
    expect(unit.startedAt.length).toBe(before + 1);
  });

  it('does not restart a one-shot job that returned normally: exited', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'ready');
    const { runner } = service(unit, clock, lifecycle());
    runner.start();
    await settle();
    unit.exit();
    await settle();
    clock.advance(60_000);
    await settle();
    expect(runner.status().state).toBe('exited');
    expect(unit.startedAt).toHaveLength(1);
  });

  it('stops retrying after a non-retryable error', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'ready');
    const { runner } = service(unit, clock, lifecycle());
    runner.start();
    await settle();
    unit.fail(new LuactError('INVALID', 'bad configuration'));
    await settle();
    clock.advance(60_000);
    await settle();
    expect(runner.status()).toMatchObject({ state: 'failed', lastError: 'bad configuration' });
    expect(unit.startedAt).toHaveLength(1);
  });
});

describe('a service starting and stopping', () => {
  it('terminates a unit that does not come up within start_timeout, then retries', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'nothing');
    const { runner } = service(unit, clock, lifecycle({ start_timeout: 3_000 }));
    runner.start();
    await settle();
    clock.advance(2_999);
    await settle();
    expect(unit.terminations).toEqual([]);
    clock.advance(1);
    await settle();
    expect(unit.terminations).toEqual(['service app:svc did not start within 3000 ms']);
    expect(runner.status()).toMatchObject({ state: 'starting', attempts: 1 });
    clock.advance(1_000);
    await settle();
    expect(unit.startedAt).toHaveLength(2);
  });

  it('asks the unit to stop, and terminates it after stop_timeout', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'ready');
    const { runner, changes } = service(unit, clock, lifecycle({ stop_timeout: 2_000 }));
    runner.start();
    await settle();
    runner.stop();
    await settle();
    expect(unit.cancels).toEqual(['service stopping']);
    expect(runner.status().state).toBe('stopping');
    clock.advance(2_000);
    await settle();
    expect(unit.terminations).toEqual(['service app:svc did not stop within 2000 ms']);
    expect(runner.status().state).toBe('stopped');
    expect(runner.stoppedByForce).toBe(true);
    expect(changes).toEqual(['starting', 'running', 'stopping', 'stopped']);
  });

  it('stops cleanly when the unit returns within stop_timeout', async () => {
    const clock = new ManualClock(START_MS);
    const unit = new FakeUnit(clock, 'ready');
    const { runner } = service(unit, clock, lifecycle());
    runner.start();
    await settle();
    runner.stop();
    await settle();
    unit.exit();
    await settle();
    expect(runner.status().state).toBe('stopped');
    expect(runner.stoppedByForce).toBe(false);
    expect(unit.terminations).toEqual([]);
  });

  it('waits in starting while a dependency is not running, and starts once it is', async () => {
    const clock = new ManualClock(START_MS);
    const dbUnit = new FakeUnit(clock, 'nothing');
    const apiUnit = new FakeUnit(clock, 'ready');
    const db = new ServiceRunner('app:db', dbUnit, lifecycle(), {
      clock,
      random: () => 0.5,
      onChange: () => {},
    });
    const api = new ServiceRunner('app:api', apiUnit, lifecycle(), {
      clock,
      random: () => 0.5,
      onChange: () => {},
    });
    api.dependOn([db]);
    api.start();
    db.start();
    await settle();
    expect(api.status()).toMatchObject({ state: 'starting', waitingFor: ['app:db'] });
    expect(apiUnit.startedAt).toHaveLength(0);
    dbUnit.ready();
    await settle();
    expect(api.status().state).toBe('running');
    expect(apiUnit.startedAt).toHaveLength(1);
  });
});
