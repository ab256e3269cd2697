import type { JournalRecord } from '../journal.js';

/** The crash writer appends to this many streams at once: their appends share log writes. */
export const CRASH_LANES = 8;

/** A lane's stream is closed once it holds this many records, and the lane starts another. */
export const CRASH_STREAM_LENGTH = 12;

/** The stream of `lane`'s `generation`th run. */
export function crashStream(lane: number, generation: number): string {
  return `crash/${lane}/${generation}`;
}

/**
 * Record `n` of stream `id`, the same in the writer and the checker. Sizes vary up to 6 KB, so
 * an append of up to three records spans several pages and a kill can land inside its write.
 */
export function crashRecord(id: string, n: number): JournalRecord {
  const bytes = new Uint8Array((n * 7919) % 6000);
  for (let index = 0; index < bytes.length; index++) bytes[index] = (n + index) & 0xff;
  return { stream: id, n, bytes };
}
