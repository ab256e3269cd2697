/**
 * Retry policies: how often and after how long a failed call is tried again. One reader for
 * both spellings code brings: Temporal's (`maximum_attempts`, `initial_interval`,
 * `backoff_coefficient`, `maximum_interval`, `non_retryable_error_types`) and Wippy's function
 * options (`max_attempts`, `initial_delay`, `backoff_factor`, `max_delay`, `skip_kinds`,
 * `retry_kinds`). Intervals are milliseconds or duration strings ("5s").
 */
import { parseDuration } from './duration.js';
import { type ErrorData, type ErrorKind, errorKindFromName, LuactError } from './errors.js';

export interface RetryPolicy {
  readonly initialInterval: number;
  readonly backoffCoefficient: number;
  readonly maximumInterval: number;
  /** Attempts in all, the first included; 0 = unlimited. */
  readonly maximumAttempts: number;
  /** Error kinds that are never retried (besides errors marked not retryable). */
  readonly nonRetryableKinds: readonly string[];
  /** When set, only errors of these kinds are retried. */
  readonly retryableKinds?: readonly string[];
}

/** Each field name a policy may be written with, and the field it sets. */
const FIELDS: Readonly<Record<string, keyof RetryPolicy>> = {
  initial_interval: 'initialInterval',
  initial_delay: 'initialInterval',
  maximum_interval: 'maximumInterval',
  max_delay: 'maximumInterval',
  backoff_coefficient: 'backoffCoefficient',
  backoff_factor: 'backoffCoefficient',
  maximum_attempts: 'maximumAttempts',
  max_attempts: 'maximumAttempts',
  non_retryable_error_types: 'nonRetryableKinds',
  skip_kinds: 'nonRetryableKinds',
  retry_kinds: 'retryableKinds',
};

/** Fields accepted for code written for Wippy, with no effect here (no jitter is added). */
const IGNORED = new Set(['jitter']);

/** `value` (a table of policy fields, `where` names it in errors) over `base`. */
export function readRetryPolicy(base: RetryPolicy, value: unknown, where: string): RetryPolicy {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${where} must be a table`);
  let policy = base;
  for (const [key, field] of Object.entries(value)) {
    const name = FIELDS[key];
    const at = `${where}.${key}`;
    if (name === undefined) {
      if (IGNORED.has(key)) continue;
      throw invalid(`unknown retry policy field "${key}" in ${where}`);
    }
    policy = { ...policy, [name]: fieldValue(name, field, at) };
  }
  return policy;
}

function fieldValue(name: keyof RetryPolicy, value: unknown, at: string): number | ErrorKind[] {
  switch (name) {
    case 'initialInterval':
    case 'maximumInterval':
      return milliseconds(value, at);
    case 'backoffCoefficient':
      if (typeof value !== 'number' || value < 1) throw invalid(`${at} must be a number ≥ 1`);
      return value;
    case 'maximumAttempts':
      if (!Number.isInteger(value) || (value as number) < 0)
        throw invalid(`${at} must be an integer ≥ 0 (0: unlimited)`);
      return value as number;
    case 'nonRetryableKinds':
    case 'retryableKinds':
      return errorKinds(value, at);
  }
}

/** The delay before attempt `attempt + 1`, or undefined when the error ends the retries. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  error: Pick<ErrorData, 'kind' | 'retryable'>,
): number | undefined {
  if (!error.retryable || policy.nonRetryableKinds.includes(error.kind)) return undefined;
  if (policy.retryableKinds && !policy.retryableKinds.includes(error.kind)) return undefined;
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return undefined;
  const delay = policy.initialInterval * policy.backoffCoefficient ** (attempt - 1);
  return Math.min(delay, policy.maximumInterval);
}

/** A list of error kinds, each written either way ("INVALID" or Lua's "Invalid"). */
function errorKinds(value: unknown, at: string): ErrorKind[] {
  const kinds = Array.isArray(value) ? value.map(errorKindFromName) : [undefined];
  if (kinds.includes(undefined))
    throw invalid(`${at} must list error kinds (errors.INVALID, "Invalid" or "INVALID")`);
  return kinds as ErrorKind[];
}

/** Milliseconds from a number or a duration string. */
export function milliseconds(value: unknown, at: string): number {
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value === 'string') {
    const parsed = parseDuration(value);
    if (parsed.ok && parsed.value >= 0) return parsed.value;
  }
  throw invalid(`${at} must be milliseconds or a duration like "5s"`);
}

function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}
