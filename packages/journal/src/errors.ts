import { idProblem, LuactError, STREAM_ID_RULE } from '@luact/core';

/** The errors every journal raises the same way (the conformance suite checks them). */

/**
 * Stream IDs are any Unicode text of 1 to 512 UTF-8 bytes (so no lone surrogates), measured by
 * the same rule as the workflow IDs they are made of (@luact/core's idProblem).
 */
export function checkId(id: string): void {
  const problem = idProblem(id, STREAM_ID_RULE);
  if (problem) throw problem;
}

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
