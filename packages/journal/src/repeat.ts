import { lengthConflict } from './errors.js';

/**
 * The single-writer rule of `Journal.append` with its one exception. A stream holding `actual`
 * records when the writer expected `expected` is a conflict, unless this is the same append
 * repeated after an unknown outcome: then the stream ends with the first (or all) of its
 * records. Returns how many of them are stored already (0 when `actual` is `expected`).
 *
 * `storedFrom` loads the stream's records from position `expected` on, encoded; it is only
 * called when the lengths allow a repeat, so the common conflict costs no read.
 */
export async function countStoredAlready(
  id: string,
  expected: number,
  actual: number,
  encoded: readonly Uint8Array[],
  storedFrom: () => Promise<readonly Uint8Array[]>,
): Promise<number> {
  if (actual === expected) return 0;
  if (actual < expected || actual > expected + encoded.length) {
    throw lengthConflict(id, expected, actual);
  }
  const stored = await storedFrom();
  const count = actual - expected;
  for (let index = 0; index < count; index++) {
    const record = stored[index];
    const mine = encoded[index];
    if (record === undefined || mine === undefined || !sameBytes(record, mine)) {
      throw lengthConflict(id, expected, actual);
    }
  }
  return count;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
