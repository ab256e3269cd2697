import { describe, expect, it } from 'vitest';
import { MAIN_THREAD, workerOf, workerThread } from './thread-plan.js';

describe('thread keys', () => {
  it('give back the host and number of a worker thread, and nothing for main', () => {
    expect(workerOf(workerThread('app:w2', 1))).toEqual({ host: 'app:w2', w: 1 });
    expect(workerOf(workerThread('app:a#b', 12))).toEqual({ host: 'app:a#b', w: 12 });
    expect(workerOf(MAIN_THREAD)).toBeUndefined();
  });
});
