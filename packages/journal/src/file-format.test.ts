import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeFrames, encodeHeader, type Scan, scanFrames } from './file-format.js';

const payloads = [Uint8Array.of(0x81, 0xa1, 0x61, 0x01), Uint8Array.of(0x80), Uint8Array.of(0x90)];

function journalFile(): { bytes: Buffer; start: number } {
  const header = encodeHeader('wf/1');
  return { bytes: Buffer.concat([header, encodeFrames(payloads)]), start: header.length };
}

describe('the journal header', () => {
  it('carries the stream ID', () => {
    const header = encodeHeader('orders/😀');
    expect(decodeHeader(header, 'f')).toEqual({ id: 'orders/😀', end: header.length });
  });

  it('is refused when damaged or of an unknown version', () => {
    const header = encodeHeader('wf');
    const flipped = Buffer.from(header);
    flipped[13] = (flipped[13] ?? 0) ^ 1;
    expect(() => decodeHeader(flipped, 'f')).toThrow(
      'f: corrupt journal frame at byte 0: header checksum mismatch',
    );
    const future = Buffer.from(header);
    future[8] = 2;
    expect(() => decodeHeader(future, 'f')).toThrow('unknown journal format version 2');
    expect(() => decodeHeader(header.subarray(0, 5), 'f')).toThrow('bad magic');
    expect(() => decodeHeader(header.subarray(0, 14), 'f')).toThrow('header cut short');
  });
});

function expectTorn(scan: Scan, end: number): void {
  expect(scan.end).toBe(end);
  expect(scan.frames).toHaveLength(2);
  expect(scan.damage).toBeUndefined();
}

describe('scanning frames', () => {
  it('finds every frame of an intact file', () => {
    const { bytes, start } = journalFile();
    const scan = scanFrames(bytes, start);
    expect(scan.frames.map((frame) => [...frame.payload])).toEqual(payloads.map((p) => [...p]));
    expect(scan.end).toBe(bytes.length);
    expect(scan.damage).toBeUndefined();
  });

  it('stops without damage at a torn final frame', () => {
    const { bytes, start } = journalFile();
    const lastFrame = bytes.length - 9;
    for (const cut of [lastFrame + 3, lastFrame + 8]) {
      expectTorn(scanFrames(bytes.subarray(0, cut), start), lastFrame);
    }
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 1] = 0x91;
    expectTorn(scanFrames(flipped, start), lastFrame);
  });

  it('reports damage where a bad frame has data after it', () => {
    const { bytes, start } = journalFile();
    const flipped = Buffer.from(bytes);
    flipped[start + 8] = 0x00;
    expect(scanFrames(flipped, start)).toMatchObject({
      frames: [],
      end: start,
      damage: { offset: start, why: 'checksum mismatch' },
    });
    const empty = Buffer.concat([
      bytes.subarray(0, start),
      encodeFrames([new Uint8Array(0)]),
      bytes.subarray(start),
    ]);
    expect(scanFrames(empty, start).damage).toEqual({ offset: start, why: 'empty frame' });
  });
});
