import type { JournalRecord } from '@luact/journal';
import type { RunStatus } from './driver.js';
import type { StartedRecord, TerminalRecord } from './records.js';

/** How a run ended, as listed: a failure with a CANCELED error counts as canceled. */
export type ClosedStatus = 'completed' | 'failed' | 'canceled' | 'terminated' | 'continued';

/** Where a run stands, as `luact workflow list` shows it. */
export type ListedStatus = RunStatus | 'canceled' | 'unreadable';

export const LISTED_STATUSES: readonly ListedStatus[] = [
  'running',
  'replaying',
  'blocked',
  'unreadable',
  'completed',
  'failed',
  'canceled',
  'terminated',
  'continued',
];

export function closedStatus(terminal: TerminalRecord): ClosedStatus {
  if (terminal.t === 'failed' && terminal.error.kind === 'CANCELED') return 'canceled';
  return terminal.t;
}

/**
 * What a finished run's stream is closed with, so it can be listed without reading it (a type,
 * not an interface: it must be a journal record).
 */
export type RunSummary = {
  readonly entry: string;
  readonly status: ClosedStatus;
  /** Workflow time, Unix milliseconds. */
  readonly startedAt: number;
  readonly endedAt: number;
};

export function runSummary(started: StartedRecord, terminal: TerminalRecord): RunSummary {
  return {
    entry: started.entry,
    status: closedStatus(terminal),
    startedAt: started.at,
    endedAt: terminal.at,
  };
}

/** The summary in a closed stream's record; undefined when it holds none this version wrote. */
export function readRunSummary(record: JournalRecord | undefined): RunSummary | undefined {
  if (!record) return undefined;
  const { entry, status, startedAt, endedAt } = record;
  if (
    typeof entry !== 'string' ||
    typeof startedAt !== 'number' ||
    typeof endedAt !== 'number' ||
    !CLOSED_STATUSES.has(status as ClosedStatus)
  ) {
    return undefined;
  }
  return { entry, status: status as ClosedStatus, startedAt, endedAt };
}

const CLOSED_STATUSES = new Set<ClosedStatus>([
  'completed',
  'failed',
  'canceled',
  'terminated',
  'continued',
]);
