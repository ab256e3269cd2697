import { err, ok, type Result } from '@luact/core';

/**
 * The payload of a `records` entry: several encoded records in one JetStream message, so an
 * append costs one publish-ack whatever its size. Layout: a u32 count, then per record a u32
 * byte length and the record's msgpack bytes (all integers big-endian). Records keep their
 * exact bytes, so a repeated append is still compared record by record.
 */

/** Bytes of the count, and of each record's length. */
const U32 = 4;

/** The payload holding `records`, in order. */
export function packRecords(records: readonly Uint8Array[]): Uint8Array {
  const packed = Buffer.allocUnsafe(packedSize(records));
  packed.writeUInt32BE(records.length, 0);
  let offset = U32;
  for (const record of records) {
    packed.writeUInt32BE(record.byteLength, offset);
    packed.set(record, offset + U32);
    offset += U32 + record.byteLength;
  }
  return packed;
}

/** The records `payload` holds (views into it), or why it holds none. */
export function unpackRecords(payload: Uint8Array): Result<Uint8Array[], string> {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes.byteLength < U32) return err('packed records without a count');
  const count = bytes.readUInt32BE(0);
  const records: Uint8Array[] = [];
  let offset = U32;
  while (records.length < count) {
    if (offset + U32 > bytes.byteLength) {
      return err(`packed records end after ${records.length} of ${count}`);
    }
    const length = bytes.readUInt32BE(offset);
    const start = offset + U32;
    if (start + length > bytes.byteLength) {
      return err(`packed record ${records.length} of ${count} runs past the payload`);
    }
    records.push(bytes.subarray(start, start + length));
    offset = start + length;
  }
  if (offset !== bytes.byteLength) {
    return err(`${bytes.byteLength - offset} bytes follow the ${count} packed records`);
  }
  return ok(records);
}

/** The size of the payload `packRecords(records)` makes. */
export function packedSize(records: readonly Uint8Array[]): number {
  let size = U32;
  for (const record of records) size += U32 + record.byteLength;
  return size;
}

/**
 * `records` cut, in order, into runs whose payloads (packed, or the record's own bytes for a
 * run of one) fit in `limit` bytes: as few runs as greedy filling gives. A record too large to
 * fit even alone is a run of its own (publishing it fails as it would unpacked).
 */
export function runsThatFit(
  records: readonly Uint8Array[],
  limit: number,
): readonly (readonly Uint8Array[])[] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  let size = U32;
  for (const record of records) {
    const added = U32 + record.byteLength;
    if (run.length > 0 && size + added > limit) {
      runs.push(run);
      run = [];
      size = U32;
    }
    run.push(record);
    size += added;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
