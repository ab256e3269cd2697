import { LuactError } from '@luact/core';
import { type JournalRecord, MemoryJournal } from '@luact/journal';
import { expect, it } from 'vitest';
import { AppendQueue } from './append-queue.js';

/** A memory journal whose next appends fail with `failures`, one each, before any is made. */
function failingFirst(failures: LuactError[]) {
  const journal = new MemoryJournal();
  const append = journal.append.bind(journal);
  let calls = 0;
  journal.append = async (id, expected, records) => {
    calls++;
    const failure = failures.shift();
    if (failure) throw failure;
    return append(id, expected, records);
  };
  return { journal, calls: () => calls };
}

const record = (n: number): JournalRecord => ({ t: 'test', n }) as unknown as JournalRecord;

function queueOn(journal: MemoryJournal) {
  const failures: Error[] = [];
  const queue = new AppendQueue(journal, 'run-1', 0, (error) => failures.push(error));
  return { queue, failures };
}

it('repeats an append the journal could not make for now (UNAVAILABLE), and each record is durable once', async () => {
  const unavailable = () =>
    new LuactError('UNAVAILABLE', 'look up journal run-1 failed: timeout', { retryable: true });
  const { journal, calls } = failingFirst([unavailable(), unavailable()]);
  const { queue, failures } = queueOn(journal);
  const done: number[] = [];
  queue.push(record(1), () => done.push(1));
  queue.push(record(2), () => done.push(2));
  await expect.poll(() => done, { timeout: 10_000 }).toEqual([1, 2]);
  await queue.drained();
  expect(failures).toEqual([]);
  expect(calls()).toBeGreaterThanOrEqual(3);
  expect(await journal.read('run-1')).toEqual([record(1), record(2)]);
});

it.each([
  ['CONFLICT (another node owns the run now)', new LuactError('CONFLICT', 'not the owner')],
  [
    'UNAVAILABLE that is not retryable (the journal is shut down)',
    new LuactError('UNAVAILABLE', 'shut down', { retryable: false }),
  ],
  ['INTERNAL (a damaged journal)', new LuactError('INTERNAL', 'damaged', { retryable: false })],
])('stops at once on %s', async (_, failure) => {
  const { journal, calls } = failingFirst([failure]);
  const { queue, failures } = queueOn(journal);
  let durable = false;
  queue.push(record(1), () => {
    durable = true;
  });
  await expect.poll(() => failures).toEqual([failure]);
  expect(queue.failed).toBe(failure);
  expect(durable).toBe(false);
  expect(calls()).toBe(1);
  queue.push(record(2));
  await queue.drained();
  expect(await journal.read('run-1')).toEqual([]);
});
