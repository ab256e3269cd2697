import { MessageChannel } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { ThreadLink } from './thread-link.js';

const { port1, port2 } = new MessageChannel();
afterEach(() => {
  port1.close();
  port2.close();
});

it('posts a long turn in batches that grow from a small first one, in order, and starts small again next turn', async () => {
  const near = new ThreadLink(port1);
  const far = new ThreadLink(port2);
  const texts: string[] = [];
  // How many records had arrived when each batch was done.
  const arrivedAt: number[] = [];
  far.listen(
    (record) => {
      if (record.t === 'print') texts.push(record.text);
    },
    () => arrivedAt.push(texts.length),
  );
  const turn = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) near.post({ t: 'print', text: String(i) });
  };
  turn(0, 100);
  await expect.poll(() => texts.length).toBe(100);
  // 16, then 32, then the rest at the end of the turn: the other thread had the first 16
  // while this one still made the others.
  expect(arrivedAt).toEqual([16, 48, 100]);
  turn(100, 20);
  await expect.poll(() => texts.length).toBe(120);
  expect(arrivedAt).toEqual([16, 48, 100, 116, 120]);
  expect(texts).toEqual(Array.from({ length: 120 }, (_, i) => String(i)));
});

it('hands over at once, when asked, what the other thread posted and this one has not taken', () => {
  const { port1: sender, port2: receiver } = new MessageChannel();
  const near = new ThreadLink(sender);
  const far = new ThreadLink(receiver);
  const texts: string[] = [];
  far.listen((record) => {
    if (record.t === 'print') texts.push(record.text);
  });
  for (let i = 0; i < 20; i++) near.post({ t: 'print', text: String(i) });
  near.flush();
  // Without a turn of the event loop: the batches are taken now, in order.
  far.drain();
  expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  far.close();
  near.close();
});
