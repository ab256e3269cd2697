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
