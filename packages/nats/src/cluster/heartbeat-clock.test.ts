import { describe, expect, it } from 'vitest';
import { HeartbeatClock } from './heartbeat-clock.js';

const members = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('the heartbeat clock', () => {
  it('declares a member down once the newest server time is more than downAfterMs past its beat', () => {
    const clock = new HeartbeatClock({ downAfterMs: 4_000, stallMs: 1_500 });
    const view = members({ a: 1, b: 2 });
    for (let t = 0; t <= 4_000; t += 1_000) {
      clock.observe('a', 1, 1_000_000 + t);
      if (t === 0) clock.observe('b', 2, 1_000_000);
    }
    expect(clock.now).toBe(1_004_000);
    expect(clock.down(view)).toEqual([]); // exactly downAfterMs: not yet
    clock.observe('a', 1, 1_004_500);
    expect(clock.down(view)).toEqual(['b']);
  });

  it('uses server times only: a beat from the past does not move the clock back', () => {
    const clock = new HeartbeatClock({ downAfterMs: 4_000, stallMs: 1_500 });
    clock.observe('a', 1, 10_000);
    clock.observe('b', 2, 9_000);
    expect(clock.now).toBe(10_000);
    expect(clock.age('b', 2)).toBe(1_000);
  });

  it('declares nobody down while no beat arrives at all, and not right after beats resume', () => {
    const clock = new HeartbeatClock({ downAfterMs: 4_000, stallMs: 1_500 });
    const view = members({ a: 1, b: 2, c: 3 });
    for (let t = 0; t < 3_000; t += 1_000) {
      clock.observe('a', 1, t);
      clock.observe('b', 2, t + 300);
      clock.observe('c', 3, t + 600);
    }
    // A 20 s outage: nothing arrives, the clock stands at 2 600.
    expect(clock.down(view)).toEqual([]);
    // a is back first; b and c reconnect a little later.
    clock.observe('a', 1, 22_600);
    expect(clock.down(view)).toEqual([]);
    clock.observe('a', 1, 23_600);
    clock.observe('b', 2, 23_700);
    expect(clock.down(view)).toEqual([]);
    clock.observe('a', 1, 24_600);
    clock.observe('b', 2, 24_700);
    expect(clock.down(view)).toEqual([]);
    // c never came back: 0 when beats stopped + 1 500 counted of the outage + 3 000 since.
    clock.observe('a', 1, 25_600);
    expect(clock.down(view)).toEqual(['c']);
  });

  it('times a member without a beat from the moment it is first looked for', () => {
    const clock = new HeartbeatClock({ downAfterMs: 4_000, stallMs: 1_500 });
    clock.observe('a', 1, 50_000);
    const view = members({ a: 1, ghost: 7 });
    expect(clock.down(view)).toEqual([]);
    for (let t = 51_000; t <= 54_000; t += 1_000) clock.observe('a', 1, t);
    expect(clock.down(view)).toEqual([]);
    clock.observe('a', 1, 55_000);
    expect(clock.down(view)).toEqual(['ghost']);
  });

  it('does not credit an old incarnation with the beats of a new one', () => {
    const clock = new HeartbeatClock({ downAfterMs: 4_000, stallMs: 1_500 });
    clock.observe('b', 5, 0);
    clock.observe('b', 9, 500); // b restarted as incarnation 9
    expect(clock.age('b', 9)).toBe(0);
    const view = members({ b: 5 });
    expect(clock.down(view)).toEqual([]);
    for (let t = 1_000; t <= 5_000; t += 1_000) clock.observe('b', 9, t);
    expect(clock.down(view)).toEqual(['b']);
  });
});
