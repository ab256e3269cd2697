import type { RunOutcome } from '@luact/runtime';
import type { CliIO } from '../io.js';

/**
 * How a program run on a terminal host ends, as Wippy's terminal host ends it: an error is
 * printed on stderr (exit 1); a number is the exit status (an integer, taken modulo 256 as the
 * system does); `false` is 1 and `true` 0; a string is printed on stdout (exit 0); anything
 * else exits 0. The program wrote its own output on the console.
 */
export function consoleExitStatus(outcome: RunOutcome, io: CliIO): number {
  if (!outcome.ok) {
    io.stderr.write(`${outcome.error.message}\n`);
    return 1;
  }
  const { value } = outcome;
  switch (typeof value) {
    case 'string':
      io.stdout.write(`${value}\n`);
      return 0;
    case 'boolean':
      return value ? 0 : 1;
    case 'bigint':
      return Number(BigInt.asUintN(8, value));
    case 'number':
      return Number.isFinite(value) ? modulo256(Math.trunc(value)) : 1;
    default:
      return 0;
  }
}

function modulo256(n: number): number {
  return ((n % 256) + 256) % 256;
}
