import type { JournalRecord } from '../journal.js';

/** The streams the crash writer appends to, concurrently: their appends share log writes. */
export const CRASH_STREAMS = Array.from({ length: 8 }, (_, index) => `crash/${index}`);

/**
 * Record `n` of stream `id`, the same in the writer and the checker. Sizes vary up to 6 KB, so
 * an append of up to three records spans several pages and a kill can land inside its write.
 */
export function crashRecord(id: string, n: number): JournalRecord {
  const bytes = new Uint8Array((n * 7919) % 6000);
  for (let index = 0; index < bytes.length; index++) bytes[index] = (n + index) & 0xff;
  return { stream: id, n, bytes };
}
