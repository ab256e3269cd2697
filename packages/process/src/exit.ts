import { type ErrorData, isErrorKind, LuactError } from '@luact/core';
import { decodeValue, type GroupOutcome } from '@luact/lua';
import type { ExitOutcome } from './transport.js';

/** What a fiber group's end means for the process: its value, or its error as a LuactError. */
export function exitOutcome(outcome: GroupOutcome): ExitOutcome {
  // The group's outcome has the shape of a process's when it is a value: no copy per exit.
  if (outcome.ok) return outcome;
  return { ok: false, error: errorFromBytes(outcome.error) };
}

export function errorFromBytes(bytes: Uint8Array): LuactError {
  if (bytes.length === 0)
    return new LuactError('INTERNAL', 'the process failed without an error value');
  try {
    const data = decodeValue(bytes);
    if (data instanceof LuactError) return data;
    const record = data as Partial<ErrorData>;
    if (typeof record.message === 'string') {
      return LuactError.fromData({
        kind: isErrorKind(record.kind) ? record.kind : 'UNKNOWN',
        message: record.message,
        retryable: record.retryable ?? true,
        ...(record.details ? { details: record.details } : {}),
      });
    }
  } catch {
    // fall through: not an ErrorData
  }
  return new LuactError('INTERNAL', 'the process failed with an unreadable error value');
}

/**
 * The error a process that does not trap links fails with when linked process `from` failed
 * with `cause` (undefined: it failed without one). A failure passed on over links names the
 * process that failed first and that process's error, however many links it went over: with
 * each link's error nested in the next, an error (and its message) grew as deep as the chain,
 * and past 64 links it could not be encoded at all.
 */
export function linkFailure(from: string, cause: LuactError | undefined): LuactError {
  if (cause === undefined)
    return new LuactError('UNAVAILABLE', `linked process failed: ${from}`, {
      details: { linked: from },
    });
  const first = passedOn(cause);
  if (first === undefined)
    return new LuactError('UNAVAILABLE', `linked process failed: ${from}: ${cause.message}`, {
      details: { linked: from, cause: cause.toData() },
    });
  return new LuactError(
    'UNAVAILABLE',
    `linked process failed: ${from}, after ${first.origin}: ${first.cause.message}`,
    { details: { linked: from, origin: first.origin, cause: first.cause } },
  );
}

/** The first failure, and the process that failed so, of a failure passed on over a link. */
function passedOn(error: LuactError): { origin: string; cause: ErrorData } | undefined {
  if (error.kind !== 'UNAVAILABLE' || error.details === undefined) return undefined;
  const { linked, origin, cause } = error.details;
  if (typeof linked !== 'string') return undefined;
  const data = cause instanceof LuactError ? cause.toData() : cause;
  if (!isErrorData(data)) return undefined;
  return { origin: typeof origin === 'string' ? origin : linked, cause: data };
}

function isErrorData(value: unknown): value is ErrorData {
  const data = value as Partial<ErrorData> | undefined;
  return typeof data?.kind === 'string' && typeof data.message === 'string';
}
