import { LuactError, milliseconds, type RetryPolicy, readRetryPolicy } from '@luact/core';
import type { ActivityOptions } from './records.js';

/**
 * Exponential backoff from 1 s, doubling, at most 5 attempts in all (docs/concepts/workflows.md).
 */
export const DEFAULT_RETRY: RetryPolicy = {
  initialInterval: 1_000,
  backoffCoefficient: 2,
  maximumInterval: 100_000,
  maximumAttempts: 5,
  nonRetryableKinds: [],
};

/**
 * An activity's options: the function entry's `meta.options` (its `retry` policy and
 * `timeout`) overridden by the call's `with_options` (`activity.retry_policy` or
 * `retry_policy`, and `timeout` in ms). Policy fields follow Temporal's names:
 * `initial_interval`, `backoff_coefficient`, `maximum_interval`, `maximum_attempts`,
 * `non_retryable_error_types` (error kinds, either spelling). Intervals are ms or duration strings.
 */
export function activityOptions(
  entryOptions: Readonly<Record<string, unknown>> | undefined,
  callOptions: Readonly<Record<string, unknown>> | undefined,
): ActivityOptions {
  return withCallOptions(entryDefaults(entryOptions), callOptions);
}

/** An entry's `meta.options` (`retry`, `timeout`) over the defaults. */
export function entryDefaults(
  entryOptions: Readonly<Record<string, unknown>> | undefined,
): ActivityOptions {
  let retry = DEFAULT_RETRY;
  let timeout: number | undefined;
  const fromEntry = entryOptions ?? {};
  if (fromEntry.retry !== undefined)
    retry = readRetryPolicy(retry, fromEntry.retry, 'meta.options.retry');
  if (fromEntry.timeout !== undefined)
    timeout = milliseconds(fromEntry.timeout, 'meta.options.timeout');
  return { retry, ...(timeout !== undefined ? { timeout } : {}) };
}

/**
 * Temporal's activity options that have no effect here, accepted so code written for it runs:
 * there are no heartbeats, task queues of activities or activity workers to wait for.
 */
const ACCEPTED_WITHOUT_EFFECT = new Set([
  'heartbeat_timeout',
  'schedule_to_start_timeout',
  'task_queue',
  'wait_for_cancellation',
]);

/**
 * A call's `with_options` over the entry's options. Names may carry Temporal's `activity.` or
 * `temporal.activity.` prefix: `retry_policy`; `timeout` or `start_to_close_timeout` (one
 * attempt); `schedule_to_close_timeout` (all attempts together).
 */
export function withCallOptions(
  base: ActivityOptions,
  callOptions: Readonly<Record<string, unknown>> | undefined,
): ActivityOptions {
  let options = base;
  for (const [key, value] of Object.entries(callOptions ?? {})) {
    const name = key.replace(/^temporal\./, '').replace(/^activity\./, '');
    if (name === 'retry_policy')
      options = { ...options, retry: readRetryPolicy(options.retry, value, key) };
    else if (name === 'timeout' || name === 'start_to_close_timeout')
      options = { ...options, timeout: milliseconds(value, key) };
    else if (name === 'schedule_to_close_timeout')
      options = { ...options, scheduleToClose: milliseconds(value, key) };
    else if (!ACCEPTED_WITHOUT_EFFECT.has(name))
      throw invalid(
        `unknown activity option "${key}" (timeout, activity.retry_policy, activity.start_to_close_timeout, activity.schedule_to_close_timeout)`,
      );
  }
  return options;
}

function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}
