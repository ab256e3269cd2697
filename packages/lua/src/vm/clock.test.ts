import { readFile } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock, wallAnchor } from './clock.js';

describe('systemClock', () => {
  it('counts wall time from the anchor it is given: two clocks of one anchor read alike', () => {
    const anchor = wallAnchor();
    const hourAhead = { ...anchor, unixNs: anchor.unixNs + 3_600_000_000_000n };
    const [a, b, ahead] = [systemClock(anchor), systemClock(anchor), systemClock(hourAhead)];
    const first = a.now();
    const second = b.now();
    const third = ahead.now();
    // Read one after the other: each later by what the monotonic clock ran in between.
    expect(second).toBeGreaterThanOrEqual(first);
    expect(second - first).toBeLessThan(50_000_000n);
    expect(third - second).toBeGreaterThanOrEqual(3_600_000_000_000n);
    expect(third - second).toBeLessThan(3_600_050_000_000n);
    expect(a.anchor).toBe(anchor);
    // Its own anchor is taken now: wall time.
    expect(Math.abs(Number(systemClock().now() / 1_000_000n) - Date.now())).toBeLessThan(50);
  });

  it('runs a zero delay on the next turn of the loop, without the 1 ms floor of setTimeout', async () => {
    const clock = systemClock();
    const order: string[] = [];
    // From an I/O callback, the next turn (check phase) comes before any timer.
    await new Promise<void>((resolve) =>
      readFile(import.meta.filename, () => {
        setTimeout(() => order.push('setTimeout 0'), 0);
        clock.schedule(0, () => order.push('schedule 0'));
        clock.schedule(-5, () => order.push('schedule -5'));
        resolve();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order[0]).toBe('schedule 0');
    expect(order).toContain('schedule -5');
    expect(order).toContain('setTimeout 0');
  });

  it('cancels zero and positive delays', async () => {
    const clock = systemClock();
    const fired: number[] = [];
    clock.schedule(0, () => fired.push(0))();
    clock.schedule(5, () => fired.push(5))();
    clock.schedule(5, () => fired.push(6));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual([6]);
  });

  it('tells unix time in nanoseconds', () => {
    const now = Number(systemClock().now() / 1_000_000n);
    expect(Math.abs(now - Date.now())).toBeLessThan(1_000);
  });
});

describe('ManualClock', () => {
  it('fires due timers in time order when advanced', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.schedule(20, () => fired.push(20));
    clock.schedule(10, () => fired.push(10));
    clock.advance(15);
    expect(fired).toEqual([10]);
    clock.advance(5);
    expect(fired).toEqual([10, 20]);
  });
});

describe('systemClock timers', () => {
  it('never fire before now() has reached their due time', async () => {
    const clock = systemClock();
    const early: string[] = [];
    const timers = Array.from({ length: 60 }, (_, i) => {
      const delayMs = 1 + (i % 20);
      const start = clock.now();
      return new Promise<void>((resolve) =>
        clock.schedule(delayMs, () => {
          const tookNs = clock.now() - start;
          if (tookNs < BigInt(delayMs) * 1_000_000n)
            early.push(`${delayMs} ms fired after ${tookNs} ns`);
          resolve();
        }),
      );
    });
    await Promise.all(timers);
    expect(early).toEqual([]);
  });
});
