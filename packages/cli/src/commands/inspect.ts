import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  controlSocketPath,
  type ProcessView,
  queryControl,
  type ServiceView,
} from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';

export interface InspectOptions {
  readonly json: boolean;
  /** The node's name (`luact run --node`). */
  readonly node: string;
  /** An explicit control socket, instead of the one derived from the directory and node. */
  readonly control: string | undefined;
}

/** `luact services [dir]`: the services of the running node with state, attempts, uptime. */
export function services(dir: string, options: InspectOptions, io: CliIO): Promise<ExitCode> {
  return inspect(dir, '/services', options, io, (rows: ServiceView[]) =>
    table(
      ['SERVICE', 'STATE', 'ATTEMPTS', 'UPTIME', 'LAST ERROR'],
      rows.map((s) => [
        s.id,
        s.waiting_for.length > 0 ? `${s.state} (waiting for ${s.waiting_for.join(', ')})` : s.state,
        String(s.attempts),
        s.uptime_ms === null ? '-' : formatDuration(s.uptime_ms),
        s.last_error ?? '',
      ]),
    ),
  );
}

/** `luact ps [dir]`: the processes of the running node. */
export function ps(dir: string, options: InspectOptions, io: CliIO): Promise<ExitCode> {
  return inspect(dir, '/processes', options, io, (rows: ProcessView[]) =>
    table(
      ['PID', 'ENTRY', 'HOST', 'NAMES', 'MAILBOX', 'LINKS', 'MONITORS'],
      rows.map((p) => [
        p.pid,
        p.entry,
        p.host,
        p.names.join(',') || '-',
        String(p.mailbox),
        String(p.links),
        String(p.monitors),
      ]),
    ),
  );
}

async function inspect<Row>(
  dir: string,
  route: string,
  options: InspectOptions,
  io: CliIO,
  render: (rows: Row[]) => string,
): Promise<ExitCode> {
  const appDir = path.resolve(io.cwd, dir);
  const socket = options.control ?? controlSocketPath(appDir, options.node);
  try {
    const rows = (await queryControl(socket, route)) as Row[];
    io.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : render(rows));
    return ExitCode.ok;
  } catch (error) {
    const failure = LuactError.from(error);
    io.stderr.write(
      failure.kind === 'UNAVAILABLE' && options.control === undefined
        ? `luact: no node "${options.node}" is running for ${path.relative(io.cwd, appDir) || '.'} (start one with: luact run ${dir})\n`
        : `luact: ${failure.message}\n`,
    );
    return ExitCode.failure;
  }
}

/** Left-aligned columns two spaces apart, or a note when there are no rows. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '(none)\n';
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** 42s, 3m 5s, 2h 10m, 4d 3h: the two largest units. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor(seconds / 3600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ];
  const first = units.findIndex(([value]) => value > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([value], i) => i === 0 || value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}
