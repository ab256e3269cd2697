import type { ProcessView, ServiceView } from '@luact/runtime';
import type { CliIO, ExitCode } from '../io.js';
import { askNode, type NodeTarget, table } from './control.js';

/** `luact services [dir]`: the services of the running node with state, attempts, uptime. */
export function services(target: NodeTarget, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/services', {}, io, serviceTable);
}

/** `luact ps [dir]`: the processes of the running node. */
export function ps(target: NodeTarget, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/processes', {}, io, processTable);
}

/** The services of one node as a table. */
export function serviceTable(rows: readonly ServiceView[]): string {
  return table(
    ['SERVICE', 'STATE', 'ATTEMPTS', 'UPTIME', 'LAST ERROR'],
    rows.map((s) => [
      s.id,
      s.waiting_for.length > 0 ? `${s.state} (waiting for ${s.waiting_for.join(', ')})` : s.state,
      String(s.attempts),
      s.uptime_ms === null ? '-' : formatDuration(s.uptime_ms),
      s.last_error ?? '',
    ]),
  );
}

/** The processes of one node as a table. */
export function processTable(rows: readonly ProcessView[]): string {
  return table(
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
  );
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
