import { err, ok, type Result } from '@luact/core';
import { pack, Unpackr } from 'msgpackr';
import type { JournalRecord } from './journal.js';

/**
 * How every journal stores a record: one msgpack value (msgpackr), so a record reads back the
 * same from memory, a file or JetStream, and repeated appends can be compared byte for byte.
 */
export function encodeRecord(record: JournalRecord): Uint8Array {
  return pack(record);
}

/**
 * Copying byte strings out means a record never shares memory with the store it came from
 * (mutating what `read` returned cannot change the journal, nor pin a whole file buffer).
 * The decoder keeps no state between calls.
 */
const decoder = new Unpackr({ useRecords: false, copyBuffers: true });

/** The record in `bytes`, or why they do not hold one. */
export function decodeRecord(bytes: Uint8Array): Result<JournalRecord, string> {
  let value: unknown;
  try {
    value = decoder.unpack(bytes);
  } catch (error) {
    return err(`undecodable payload (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err(`payload is not a record but ${describe(value)}`);
  }
  return ok(value as JournalRecord);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
