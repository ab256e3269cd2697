import {
  type ErrorData,
  type ErrorKind,
  errorKindFromName,
  LuactError,
  parseDuration,
} from '@luact/core';
import type { ActivityOptions, RetryPolicy } from './records.js';

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
    retry = retryPolicy(retry, fromEntry.retry, 'meta.options.retry');
  if (fromEntry.timeout !== undefined)
    timeout = milliseconds(fromEntry.timeout, 'meta.options.timeout');
  return { retry, ...(timeout !== undefined ? { timeout } : {}) };
}

/** A call's `with_options` over the entry's options. */
export function withCallOptions(
  base: ActivityOptions,
  callOptions: Readonly<Record<string, unknown>> | undefined,
): ActivityOptions {
  let { retry } = base;
  let timeout = base.timeout;
  for (const [key, value] of Object.entries(callOptions ?? {})) {
    if (
      key === 'activity.retry_policy' ||
      key === 'retry_policy' ||
      key === 'temporal.activity.retry_policy'
    )
      retry = retryPolicy(retry, value, key);
    else if (key === 'timeout' || key === 'activity.start_to_close_timeout')
      timeout = milliseconds(value, key);
    else throw invalid(`unknown activity option "${key}" (timeout, activity.retry_policy)`);
  }
  return { retry, ...(timeout !== undefined ? { timeout } : {}) };
}

function retryPolicy(base: RetryPolicy, value: unknown, where: string): RetryPolicy {
  if (!value || typeof value !== 'object') throw invalid(`${where} must be a table`);
  let policy = base;
  for (const [key, field] of Object.entries(value)) {
    switch (key) {
      case 'initial_interval':
        policy = { ...policy, initialInterval: milliseconds(field, `${where}.${key}`) };
        break;
      case 'maximum_interval':
        policy = { ...policy, maximumInterval: milliseconds(field, `${where}.${key}`) };
        break;
      case 'backoff_coefficient':
        if (typeof field !== 'number' || field < 1)
          throw invalid(`${where}.${key} must be a number ≥ 1`);
        policy = { ...policy, backoffCoefficient: field };
        break;
      case 'maximum_attempts':
        if (!Number.isInteger(field) || (field as number) < 0)
          throw invalid(`${where}.${key} must be an integer ≥ 0 (0: unlimited)`);
        policy = { ...policy, maximumAttempts: field as number };
        break;
      case 'non_retryable_error_types':
        policy = { ...policy, nonRetryableKinds: errorKinds(field, `${where}.${key}`) };
        break;
      default:
        throw invalid(`unknown retry policy field "${key}" in ${where}`);
    }
  }
  return policy;
}

/** A list of error kinds, each written either way ("INVALID" or Lua's "Invalid"). */
function errorKinds(value: unknown, where: string): ErrorKind[] {
  const kinds = Array.isArray(value) ? value.map(errorKindFromName) : [undefined];
  if (kinds.includes(undefined))
    throw invalid(`${where} must list error kinds (errors.INVALID, "Invalid" or "INVALID")`);
  return kinds as ErrorKind[];
}

function milliseconds(value: unknown, where: string): number {
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value === 'string') {
    const parsed = parseDuration(value);
    if (parsed.ok && parsed.value >= 0) return parsed.value;
  }
  throw invalid(`${where} must be milliseconds or a duration like "5s"`);
}

function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}

/** The delay before attempt `attempt + 1`, or undefined when the error ends the retries. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  error: Pick<ErrorData, 'kind' | 'retryable'>,
): number | undefined {
  if (!error.retryable || policy.nonRetryableKinds.includes(error.kind)) return undefined;
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return undefined;
  const delay = policy.initialInterval * policy.backoffCoefficient ** (attempt - 1);
  return Math.min(delay, policy.maximumInterval);
}
