import { setTimeout as sleep } from 'node:timers/promises';
import { LuactError } from '@luact/core';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * How membership keeps at a change it must make (joining, leaving): attempts until one reports
 * done, a short random pause after a lost race, a longer one after a retryable NATS failure,
 * UNAVAILABLE when the time is up.
 */

/** Pause before asking NATS again after a retryable failure, or following a stream again. */
export const RETRY_PAUSE_MS = 250;

export interface RetryParams {
  readonly node: string;
  readonly connection: NatsConnection;
  /** What is attempted, for the error: `could not <action>`. */
  readonly action: string;
  readonly timeoutMs: number;
  /** One attempt: true when done, false when it lost a race and should look again. */
  readonly attempt: () => Promise<boolean>;
}

/** Runs `attempt` until it reports done, retrying conflicts and retryable NATS failures. */
export async function retryUntilDone(params: RetryParams): Promise<void> {
  const { node, connection, action, timeoutMs, attempt } = params;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() < deadline) {
    try {
      if (await attempt()) return;
      // Lost a race for the next version: look again after a short random pause.
      await sleep(5 + Math.random() * 45);
    } catch (error) {
      const retryable = error instanceof LuactError && error.retryable;
      if (!retryable || connection.isClosed()) throw error;
      lastError = error;
      await sleep(RETRY_PAUSE_MS);
    }
  }
  throw new LuactError(
    'UNAVAILABLE',
    `node ${node} could not ${action} within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
    { details: { node }, cause: lastError },
  );
}
