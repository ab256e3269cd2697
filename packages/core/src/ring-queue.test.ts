import { expect, it } from 'vitest';
import { RingQueue } from './ring-queue.js';

it('gives items back in the order they came, across growth and wrap-around', () => {
  const queue = new RingQueue<number>();
  const taken: number[] = [];
  let next = 0;
  // Interleaved pushes and shifts wrap the ring around before it grows several times.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < round; i++) queue.push(next++);
    for (let i = 0; i < round / 2; i++) taken.push(queue.shift() as number);
  }
  expect(queue.peek()).toBe(taken.length);
  while (queue.length > 0) taken.push(queue.shift() as number);
  expect(taken).toEqual([...Array(next).keys()]);
  expect(queue.shift()).toBeUndefined();
  expect(queue.peek()).toBeUndefined();
});

it('takes a list longer than a call may have arguments', () => {
  const queue = new RingQueue<number>();
  queue.pushAll(new Array(300_000).fill(1));
  expect(queue.length).toBe(300_000);
});
