import type { JournalRecord } from '@luact/journal';

/** Records per append in the split-append crash test. */
export const SPLIT_APPEND = 15;
/** The crash test's server max_payload: entries of 6 KiB, six of these records each. */
export const SPLIT_MAX_PAYLOAD = 8 * 1024;

/** The records of the append that starts at position `from`: record n is `{ n, text }`. */
export function splitAppendRecords(from: number): JournalRecord[] {
  return Array.from({ length: SPLIT_APPEND }, (_, index) => ({
    n: from + index,
    text: 'x'.repeat(1_000),
  }));
}
