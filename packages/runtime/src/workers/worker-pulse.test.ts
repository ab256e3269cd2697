import { afterEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from './watchdog.js';
import { WorkerPulse } from './worker-pulse.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('a worker’s pulse', () => {
  it('says how long the worker has been busy without a break, and 0 when it is idle', () => {
    vi.useFakeTimers();
    const pulse = WorkerPulse.create();
    expect(pulse.busyFor()).toBe(0);
    pulse.begin();
    vi.advanceTimersByTime(40);
    // A batch inside the slice does not restart the count.
    pulse.begin();
    vi.advanceTimersByTime(60);
    pulse.end();
    expect(pulse.busyFor()).toBe(100);
    pulse.end();
    expect(pulse.busyFor()).toBe(0);
    expect(pulse.turns).toBe(1);
    // Another thread's view of the same memory (the main thread's) reads the same.
    pulse.begin();
    vi.advanceTimersByTime(5);
    expect(new WorkerPulse(pulse.buffer).busyFor()).toBe(5);
  });
});

describe('the watchdog', () => {
  it('reports a worker busy past its bound once, and never an idle one', () => {
    vi.useFakeTimers();
    const watchdog = new Watchdog();
    const [stuck, idle] = [WorkerPulse.create(), WorkerPulse.create()];
    const reported: string[] = [];
    watchdog.watch('a', stuck, 300, (ms) => reported.push(`a ${ms >= 300}`));
    watchdog.watch('b', idle, 300, () => reported.push('b'));
    stuck.begin();
    vi.advanceTimersByTime(250);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(reported).toEqual(['a true']);
    watchdog.stop();
  });

  it('does not take a worker caught mid-slice by a pause of the whole node for stuck', () => {
    vi.useFakeTimers();
    const watchdog = new Watchdog();
    const pulse = WorkerPulse.create();
    const reported: number[] = [];
    watchdog.watch('a', pulse, 300, (ms) => reported.push(ms));
    pulse.begin();
    vi.advanceTimersByTime(100);
    // The node's process is stopped for 10 s (no timer runs), then goes on.
    vi.setSystemTime(Date.now() + 10_000);
    vi.advanceTimersByTime(200);
    expect(reported).toEqual([]);
    pulse.end();
    vi.advanceTimersByTime(1_000);
    expect(reported).toEqual([]);
    // Stuck for good after the pause: found after its bound.
    pulse.begin();
    vi.advanceTimersByTime(600);
    expect(reported).toHaveLength(1);
    watchdog.stop();
  });
});
