import { DEFAULT_RESTART_POLICY } from '@luact/registry';
import { describe, expect, it } from 'vitest';
import { restartDelay } from './backoff.js';

const POLICY = {
  ...DEFAULT_RESTART_POLICY,
  initial_delay: 1_000,
  max_delay: 10_000,
  backoff_factor: 2,
  jitter: 0,
};

describe('restartDelay', () => {
  it('doubles from the initial delay and stops at the maximum', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => restartDelay(POLICY, attempt, () => 0.5));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('spreads by at most ±jitter of the delay', () => {
    const policy = { ...POLICY, jitter: 0.1 };
    expect(restartDelay(policy, 3, () => 0)).toBe(3_600);
    expect(restartDelay(policy, 3, () => 0.999_999)).toBeCloseTo(4_400, 0);
    for (let i = 0; i < 1_000; i++) {
      const delay = restartDelay(policy, 2, Math.random);
      expect(delay).toBeGreaterThanOrEqual(1_800);
      expect(delay).toBeLessThanOrEqual(2_200);
    }
  });

  it('uses any backoff factor, 1 meaning a constant delay', () => {
    expect(
      [1, 2, 3].map((n) => restartDelay({ ...POLICY, backoff_factor: 1 }, n, () => 0.5)),
    ).toEqual([1_000, 1_000, 1_000]);
    expect(
      [1, 2, 3].map((n) => restartDelay({ ...POLICY, backoff_factor: 3 }, n, () => 0.5)),
    ).toEqual([1_000, 3_000, 9_000]);
  });
});
