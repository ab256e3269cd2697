import type { Pid } from '@luact/process';
import { expect, it } from 'vitest';
import { AwaitedResults } from './awaited-results.js';

const parent = '{app:w|2}' as Pid;
const child = '{app:w|5}' as Pid;

it('tells a lost thread’s children’s parents, once each, what they still await', () => {
  const awaited = new AwaitedResults();
  awaited.expect(1, 'app:w#1', parent, 7);
  awaited.started(1, child);
  awaited.expect(2, 'app:w#1', parent, 8);
  expect(awaited.lost('app:w#0')).toEqual([]);
  expect(awaited.lost('app:w#1')).toEqual([
    expect.objectContaining({ parent, channel: 7, child }),
    expect.objectContaining({ parent, channel: 8, child: undefined }),
  ]);
  expect(awaited.lost('app:w#1')).toEqual([]);
});

it('forgets what a parent that ended awaited, and an outcome that arrived or left for another node', () => {
  const awaited = new AwaitedResults();
  awaited.expect(1, 'app:w#1', parent, 7);
  awaited.started(1, child);
  awaited.expect(2, 'app:w#1', parent, 8);
  const other = '{app:w|4}' as Pid;
  awaited.expect(3, 'app:w#1', other, 1);
  awaited.expect(4, 'app:w#1', other, 2);
  awaited.parentEnded(parent);
  awaited.settled(other, 1);
  // The spawn's answer after its parent ended changes nothing.
  awaited.failed(2);
  expect(awaited.lost('app:w#1')).toEqual([expect.objectContaining({ parent: other, channel: 2 })]);
});
