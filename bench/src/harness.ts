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
 * Times `work` `rounds` times after `warmup` untimed runs and returns the median in
 * milliseconds. Medians keep one noisy round on a shared 2-core machine from moving the figure.
 */
export async function medianMs(work: () => unknown, { warmup, rounds }: Rounds): Promise<number> {
  for (let i = 0; i < warmup; i++) await work();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await work();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
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
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
