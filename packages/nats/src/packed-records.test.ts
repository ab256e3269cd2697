import { encodeRecord } from '@luact/journal';
import { describe, expect, it } from 'vitest';
import { packedSize, packRecords, runsThatFit, unpackRecords } from './packed-records.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('packed records', () => {
  it('gives back exactly the bytes of each record packed, in order', () => {
    const records = [encodeRecord({ n: 0 }), bytes(), encodeRecord({ text: 'x'.repeat(300) })];
    const packed = packRecords(records);
    expect(packed.byteLength).toBe(packedSize(records));
    const unpacked = unpackRecords(packed);
    expect(unpacked.ok && unpacked.value.map((record) => [...record])).toEqual(
      records.map((record) => [...record]),
    );
  });

  it('says why a payload that is not packed records cannot be read', () => {
    const packed = packRecords([bytes(1, 2, 3), bytes(4)]);
    expect(unpackRecords(bytes(0, 0))).toEqual({
      ok: false,
      error: 'packed records without a count',
    });
    expect(unpackRecords(packed.subarray(0, packed.byteLength - 1))).toMatchObject({
      ok: false,
      error: 'packed record 1 of 2 runs past the payload',
    });
    expect(unpackRecords(packed.subarray(0, 11))).toMatchObject({
      ok: false,
      error: 'packed records end after 1 of 2',
    });
    expect(unpackRecords(Uint8Array.of(...packed, 9))).toMatchObject({
      ok: false,
      error: '1 bytes follow the 2 packed records',
    });
  });

  it('keeps records together while they fit, and a record too large for any message alone', () => {
    const record = (size: number) => new Uint8Array(size);
    // 4 bytes of count, then 4 + size per record.
    const runs = runsThatFit([record(10), record(10), record(10), record(100), record(6)], 40);
    expect(runs.map((run) => run.map((each) => each.byteLength))).toEqual([
      [10, 10],
      [10],
      [100],
      [6],
    ]);
    for (const run of runs.filter((each) => each.length > 1)) {
      expect(packedSize(run)).toBeLessThanOrEqual(40);
    }
    expect(runsThatFit([record(1), record(2), record(3)], 1_000)).toHaveLength(1);
    expect(runsThatFit([], 1_000)).toEqual([]);
  });
});
