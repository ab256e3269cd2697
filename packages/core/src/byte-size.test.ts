import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    [1024, 1024],
    ['64KiB', 65_536],
    ['1MB', 1_000_000],
    ['1 mib', 1_048_576],
    ['512', 512],
  ] as const)('reads %j as %d bytes', (input, bytes) => {
    expect(parseByteSize(input)).toEqual({ ok: true, value: bytes });
  });

  it.each([-1, 1.5, '1 parsec', 'lots'])('rejects %j', (input) => {
    expect(parseByteSize(input).ok).toBe(false);
  });
});
