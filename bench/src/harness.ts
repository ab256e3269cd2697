import os from 'node:os';

/** One reported figure: a median next to the median of its same-run baseline. */
export interface Figure {
  readonly figure: string;
  readonly median: number;
  readonly unit: string;
  readonly baseline: string;
  readonly baselineMedian: number;
  /** What the figure costs in durability terms, e.g. `fsync=batch, R1`, or `n/a` (no journal). */
  readonly durability: string;
}

export interface Benchmark {
  readonly name: string;
  run(): Promise<readonly Figure[]>;
}

export interface Rounds {
  readonly warmup: number;
  readonly rounds: number;
}

/**
 * Times `subject` and `baseline` in alternating rounds after `warmup` untimed runs of each, and
 * returns the median of each in milliseconds. Alternating puts both under the same conditions
 * (GC pressure, CPU frequency, other load) on a shared 2-core machine; medians keep one noisy
 * round from moving a figure.
 */
export async function compareMs(
  subject: () => unknown,
  baseline: () => unknown,
  rounds: Rounds,
): Promise<{ subject: number; baseline: number }> {
  const [baselineMs, subjectMs] = await alternateMedians(
    [() => timeMs(baseline), () => timeMs(subject)],
    rounds,
  );
  return { subject: subjectMs, baseline: baselineMs };
}

/** One measurement: a figure it computes itself (a rate, µs per operation). */
export type Sampler = () => Promise<number>;

/**
 * Runs each of `samplers` `warmup` times, its samples left out, then `rounds` rounds in which
 * each runs once in turn; returns each one's samples. Taken in the same rounds, a figure and
 * its baselines share the machine's conditions.
 */
export async function alternateSamples<const S extends readonly Sampler[]>(
  samplers: S,
  { warmup, rounds }: Rounds,
): Promise<{ -readonly [K in keyof S]: number[] }> {
  for (let round = 0; round < warmup; round++) for (const sample of samplers) await sample();
  const samples = samplers.map((): number[] => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, sample] of samplers.entries()) samples[i]?.push(await sample());
  return samples as { -readonly [K in keyof S]: number[] };
}

/** The median of each sampler's samples (see alternateSamples). */
export async function alternateMedians<const S extends readonly Sampler[]>(
  samplers: S,
  rounds: Rounds,
): Promise<{ -readonly [K in keyof S]: number }> {
  const samples: readonly number[][] = await alternateSamples(samplers, rounds);
  return samples.map(median) as { -readonly [K in keyof S]: number };
}

async function timeMs(work: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

export function machine(): string {
  return `${os.cpus().length} cores, node ${process.versions.node}`;
}

/** The table every benchmark run prints. */
export function formatTable(figures: readonly Figure[]): string {
  const header = [
    'figure',
    'median',
    'unit',
    'baseline',
    'baseline median',
    'ratio',
    'durability',
    'machine',
  ];
  const rows = figures.map((f) => [
    f.figure,
    format(f.median),
    f.unit,
    f.baseline,
    format(f.baselineMedian),
    `${format(f.median / f.baselineMedian)}×`,
    f.durability,
    machine(),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 0.01) return value.toPrecision(2);
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
