import { describe, expect, it } from 'vitest';
import { type ActivityReading, nodeIsQuiet, ThreadActivity } from './thread-activity.js';

const idle = (sent: number, received: number, phase = 1): ActivityReading => ({
  phase,
  sent,
  received,
});

describe('nodeIsQuiet', () => {
  it('holds when every worker is idle in both readings and every frame sent was received', () => {
    const workers = [idle(3, 2), idle(1, 4)];
    expect(nodeIsQuiet(workers, workers, { sent: 4, received: 2 })).toBe(true);
    expect(nodeIsQuiet([], [], { sent: 0, received: 0 })).toBe(true);
  });

  it('does not hold while a frame is on its way, though every thread is idle', () => {
    // The first worker sent one frame more than the others took: it wakes one when it arrives.
    const workers = [idle(4, 2), idle(1, 4)];
    expect(nodeIsQuiet(workers, workers, { sent: 4, received: 2 })).toBe(false);
  });

  it('does not hold while a worker is busy', () => {
    const workers = [idle(3, 2), idle(1, 4, 2)];
    expect(nodeIsQuiet(workers, workers, { sent: 4, received: 2 })).toBe(false);
  });

  it('does not hold when a worker woke and went idle again between the two readings', () => {
    // Same counts, yet it ran in between (a word from the main thread woke it): no moment
    // is known at which all were idle together.
    const first = [idle(3, 2), idle(1, 4)];
    const second = [idle(3, 2), idle(1, 4, 3)];
    expect(nodeIsQuiet(first, second, { sent: 4, received: 2 })).toBe(false);
  });

  it('does not hold when the counts moved between the two readings', () => {
    const first = [idle(3, 2), idle(1, 4)];
    const second = [idle(3, 3), idle(1, 4)];
    expect(nodeIsQuiet(first, second, { sent: 5, received: 2 })).toBe(false);
  });

  it('compares counts that wrapped past 2^31', () => {
    const max = 0x7fffffff;
    const wrapped = (max + 3) | 0;
    const workers = [idle(wrapped, 0)];
    expect(nodeIsQuiet(workers, workers, { sent: 0, received: wrapped })).toBe(true);
  });
});

describe('ThreadActivity', () => {
  it('is busy until it says it is idle, and a received frame wakes it once', () => {
    let wakes = 0;
    const activity = new ThreadActivity(ThreadActivity.create().buffer, () => wakes++);
    expect(activity.read().phase % 2).toBe(0);
    activity.idle();
    expect(activity.read()).toEqual({ phase: 1, sent: 0, received: 0 });
    activity.received();
    activity.received();
    expect(activity.read()).toEqual({ phase: 2, sent: 0, received: 2 });
    expect(wakes).toBe(1);
  });

  it('reads what another view of its memory wrote (the main thread reads a worker)', () => {
    const worker = ThreadActivity.create();
    const main = new ThreadActivity(worker.buffer);
    worker.sent(3);
    worker.received();
    worker.idle();
    expect(main.read()).toEqual({ phase: 1, sent: 3, received: 1 });
  });

  it('drops the frames of a closed link from its counts', () => {
    const activity = ThreadActivity.create();
    activity.sent(5);
    activity.received();
    activity.received();
    activity.forget(4, 1);
    expect(activity.read()).toMatchObject({ sent: 1, received: 1 });
  });
});
