import type { RestartPolicy } from '@luact/registry';

/**
 * The wait before restart attempt `attempt` (1-based): min(initial · factor^(attempt-1), max),
 * then spread by ±jitter (a fraction of it). `random` is in [0, 1); 0.5 means no spread.
 */
export function restartDelay(policy: RestartPolicy, attempt: number, random: () => number): number {
  const exponential = policy.initial_delay * policy.backoff_factor ** Math.max(0, attempt - 1);
  const base = Math.min(exponential, policy.max_delay);
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, base + spread);
}
