import { LuactError } from '@luact/core';
import { encodeValue } from '@luact/lua';
import { describe, expect, it } from 'vitest';
import { errorFromBytes, exitOutcome } from './exit.js';

describe('exit outcomes', () => {
  it('keeps the value bytes of a process that returned', () => {
    const value = encodeValue({ answer: 42 });
    expect(exitOutcome({ ok: true, value })).toEqual({ ok: true, value });
  });

  it('maps the ErrorData a failed process left to a LuactError with all its fields', () => {
    const bytes = encodeValue({
      kind: 'CONFLICT',
      message: 'taken',
      retryable: true,
      details: { id: 7 },
    });
    const outcome = exitOutcome({ ok: false, error: bytes, killed: false });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.toData()).toEqual({
      kind: 'CONFLICT',
      message: 'taken',
      retryable: true,
      details: { id: 7 },
    });
  });

  it('accepts an error sent as an error object (ext type 1)', () => {
    const error = errorFromBytes(encodeValue(new LuactError('TIMEOUT', 'late')));
    expect(error.toData()).toEqual({ kind: 'TIMEOUT', message: 'late', retryable: true });
  });

  it('turns an unknown kind into UNKNOWN and unreadable bytes into INTERNAL', () => {
    expect(errorFromBytes(encodeValue({ kind: 'WEIRD', message: 'x' })).kind).toBe('UNKNOWN');
    expect(errorFromBytes(Uint8Array.of(0xc1)).toData()).toMatchObject({
      kind: 'INTERNAL',
      message: 'the process failed with an unreadable error value',
    });
    expect(errorFromBytes(new Uint8Array()).message).toBe(
      'the process failed without an error value',
    );
  });
});
