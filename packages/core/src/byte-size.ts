import { err, ok, type Result } from './result.js';

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
};

/** Parses a byte size: a whole number of bytes, or text such as `"64KiB"`, `"1MB"`, `"512 b"`. */
export function parseByteSize(value: number | string): Result<number, string> {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? ok(value)
      : err(`${value} is not a byte size (a whole number of bytes or e.g. "64KiB")`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const factor = match ? UNIT_BYTES[(match[2] || 'b').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    return err(`"${value}" is not a byte size (e.g. 1048576, "64KiB", "1MB")`);
  }
  const bytes = Number(match[1]) * factor;
  return Number.isSafeInteger(Math.round(bytes))
    ? ok(Math.round(bytes))
    : err(`"${value}" is too large a byte size`);
}
