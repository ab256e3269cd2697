import { describe, expect, it } from 'vitest';
import { AwaitedResults } from './awaited-results.js';
import { ranOn, type ThreadDown, workerDownError } from './thread-down.js';

const DOWN: ThreadDown = {
  thread: 'app:w#1',
  host: 'app:w',
  w: 1,
  workers: 3,
  fence: 4,
  why: 'it exited with code 1',
};

describe('the PIDs of a lost worker', () => {
  it('are its own numbers below the fence, and no other', () => {
    const lost = ranOn(DOWN);
    // Worker 1 of 3 gave k·3 + 1 for k = 1, 2, 3 (the fence is 4).
    for (const id of [4, 7, 10]) expect(lost(`{app:w|${id}}` as never)).toBe(true);
    // Its successor's first, the other workers', another host's, an inbox's.
    for (const pid of ['{app:w|13}', '{app:w|6}', '{app:w|8}', '{app:v|7}', '{luact:inbox|7}'])
      expect(lost(pid as never)).toBe(false);
  });

  it('on a cluster node, are this node’s own, not another node’s of a host of the same ID', () => {
    const lost = ranOn({ ...DOWN, node: 'a' });
    expect(lost('{a~2@app:w|4}' as never)).toBe(true);
    expect(lost('{b~1@app:w|4}' as never)).toBe(false);
  });

  it('end with a retryable UNAVAILABLE that names the thread and why', () => {
    const error = workerDownError(DOWN);
    expect(error).toMatchObject({ kind: 'UNAVAILABLE', retryable: true });
    expect(error.message).toBe('worker down: app:w#1 (it exited with code 1)');
    expect(error.details).toMatchObject({ host: 'app:w', worker: 1 });
  });
});

describe('results awaited from other threads', () => {
  it('are given up for the lost thread only, once each, and forgotten when they arrive', () => {
    const awaited = new AwaitedResults();
    awaited.expect(1, 'app:w#1', '{luact:main|1}' as never, 7);
    awaited.started(1, '{app:w|4}' as never);
    awaited.expect(2, 'app:w#1', '{luact:main|2}' as never, 1);
    awaited.started(2, '{app:w|7}' as never);
    awaited.expect(3, 'app:w#0', '{luact:main|3}' as never, 1);
    awaited.started(3, '{app:w|3}' as never);
    awaited.expect(4, 'app:w#1', '{luact:main|4}' as never, 1);
    awaited.failed(4);
    // The second child's outcome arrived before the thread was lost.
    awaited.settled('{luact:main|2}' as never, 1);
    expect(awaited.lost('app:w#1')).toEqual([
      expect.objectContaining({ parent: '{luact:main|1}', channel: 7, child: '{app:w|4}' }),
    ]);
    expect(awaited.lost('app:w#1')).toEqual([]);
    expect(awaited.lost('app:w#0')).toHaveLength(1);
  });
});
