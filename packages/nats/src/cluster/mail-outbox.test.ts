import { expect, it } from 'vitest';
import { Outbox } from './mail-outbox.js';

it('numbers records, bases them on the oldest in flight, and announces what it gave up on until stored', () => {
  const outbox = new Outbox();
  const first = outbox.take();
  const second = outbox.take();
  expect(first).toEqual({ seq: 1, base: 1, skipped: [] });
  expect(second).toEqual({ seq: 2, base: 1, skipped: [] });
  outbox.stored(second);
  expect(outbox.take()).toEqual({ seq: 3, base: 1, skipped: [] });
  outbox.abandon(first);
  const fourth = outbox.take();
  expect(fourth).toEqual({ seq: 4, base: 3, skipped: [1] });
  const fifth = outbox.take();
  expect(fifth).toEqual({ seq: 5, base: 3, skipped: [1] });
  outbox.abandon(fourth); // its announcement was not stored: the next record repeats it
  outbox.stored(fifth);
  expect(outbox.take()).toEqual({ seq: 6, base: 3, skipped: [4] });
});
