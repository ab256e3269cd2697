import { err, ok, type Result } from './result.js';

/** Milliseconds per unit of the duration syntax (Go's, plus `d` for days). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;

/**
 * Parses a duration such as `"250ms"`, `"1h30m"` or `"1.5s"` into milliseconds.
 * `"0"` is accepted without a unit; any other number needs one, so `"5"` is never a guess.
 */
export function parseDuration(text: string): Result<number, string> {
  const source = text.trim();
  if (source === '0') return ok(0);
  const negative = source.startsWith('-');
  const body = negative || source.startsWith('+') ? source.slice(1) : source;
  if (body === '') return err(`"${text}" is not a duration (e.g. "250ms", "5s", "1h30m")`);
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < body.length) {
    const start = TERM.lastIndex;
    const match = TERM.exec(body);
    if (match === null || match.index !== start) {
      const hint = /^\d+(\.\d+)?$/.test(body) ? ` (add a unit: "${body}s" or "${body}ms")` : '';
      return err(`"${text}" is not a duration${hint || ' (e.g. "250ms", "5s", "1h30m")'}`);
    }
    const [, amount = '', unit = ''] = match;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) return err(`"${text}" is too large a duration`);
  return ok(negative ? -total : total);
}

/** Formats milliseconds in the same syntax, largest units first (`90000` → `"1m30s"`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${Math.round(rest * 1e6)}ns`;
  if (rest < 1_000) return `${sign}${round3(rest)}ms`;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    const whole = Math.floor(rest / size);
    if (whole > 0) {
      out += `${whole}${unit}`;
      rest -= whole * size;
    }
  }
  if (rest > 0) out += `${round3(rest / 1_000)}s`;
  return sign + out;
}

function round3(value: number): number {
  return Math.round(value * 1_000) / 1_000;
}
