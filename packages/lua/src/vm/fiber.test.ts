import { describe, expect, it } from 'vitest';
import { FiberGroup } from './fiber.js';

const owner = { onGroupExit: () => {} };

function delivery(channel: number, a: string) {
  return { channel, a, b: undefined, c: undefined };
}

describe('the fed channels of a fiber group', () => {
  it('keep each channel its own queue, whichever was opened first or released', () => {
    const group = new FiberGroup(1, owner);
    group.queue(7).push(delivery(7, 'inbox'));
    group.queue(9).push(delivery(9, 'listen 1'));
    group.queue(9).push(delivery(9, 'listen 2'));
    expect([group.pendingIn(7), group.pendingIn(9), group.pendingIn(8)]).toEqual([1, 2, 0]);

    expect(group.releaseChannel(7).map((d) => d.a)).toEqual(['inbox']);
    expect(group.pendingIn(7)).toBe(0);
    // The channel still open keeps its queue after the first one went.
    expect(group.queue(9).length).toBe(2);
    group.queue(11).push(delivery(11, 'events'));
    expect(group.queue(9).shift()?.a).toBe('listen 1');
    expect([group.pendingIn(9), group.pendingIn(11)]).toEqual([1, 1]);

    expect(group.releaseChannel(9).map((d) => d.a)).toEqual(['listen 2']);
    expect(group.releaseChannel(9)).toEqual([]);
    expect(group.releaseChannel(11).map((d) => d.a)).toEqual(['events']);
  });

  it('forget a queue once its last delivery is taken, and keep the others', () => {
    const group = new FiberGroup(1, owner);
    group.queue(3).push(delivery(3, 'message'));
    const result = group.queue(4);
    result.push(delivery(4, 'call result'));
    result.last = true;
    expect(group.fedQueueCount).toBe(2);
    expect(group.take(4)?.a).toBe('call result');
    expect(group.take(3)?.a).toBe('message');
    // The inbox stays (more may come); the call's queue went with its one result.
    expect(group.fedQueueCount).toBe(1);
    expect(group.take(4)).toBeUndefined();
    expect(group.fedQueueCount).toBe(1);
  });
});
