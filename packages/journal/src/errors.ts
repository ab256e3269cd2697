import { LuactError } from '@luact/core';

/** The errors every journal raises the same way (the conformance suite checks them). */

/** Stream IDs are 1 to 512 UTF-8 bytes, so they must be valid Unicode (no lone surrogates). */
export function checkId(id: string): void {
  if (id.length === 0 || Buffer.byteLength(id) > 512) {
    throw new LuactError(
      'INVALID',
      `journal stream ID must be 1 to 512 bytes, got ${JSON.stringify(id.slice(0, 40))}`,
      {
        retryable: false,
      },
    );
  }
  if (LONE_SURROGATE.test(id)) {
    throw new LuactError(
      'INVALID',
      `journal stream ID must be valid Unicode, got a lone surrogate in ${JSON.stringify(id.slice(0, 40))}`,
      { retryable: false },
    );
  }
}

/** In a `u` pattern a surrogate pair is one code point, so this matches only unpaired halves. */
const LONE_SURROGATE = /\p{Cs}/u;

export function lengthConflict(id: string, expected: number, actual: number): LuactError {
  return new LuactError(
    'CONFLICT',
    `journal ${id} holds ${actual} records, not the ${expected} the writer expected (another writer?)`,
    { retryable: false, details: { stream: id, expected, actual } },
  );
}

export function closedError(id: string): LuactError {
  return new LuactError('CONFLICT', `journal ${id} is closed`, {
    retryable: false,
    details: { stream: id },
  });
}
