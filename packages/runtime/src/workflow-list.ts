import { LuactError } from '@luact/core';
import { LISTED_STATUSES, type ListedStatus, type WorkflowSummary } from '@luact/workflow';

/** How many runs `luact workflow list` shows unless told otherwise. */
export const DEFAULT_WORKFLOW_LIST_LIMIT = 50;

/** Which runs to list. */
export interface WorkflowQuery {
  /** Only runs in one of these statuses; every status when empty or absent. */
  readonly statuses?: readonly ListedStatus[];
  /** Only runs of this workflow.lua entry. */
  readonly entry?: string;
  /** At most this many, newest first. */
  readonly limit: number;
}

/** One page of runs, and how many matched in all. */
export interface WorkflowPage<Run> {
  readonly runs: readonly Run[];
  readonly total: number;
}

/** Other spellings users bring from Temporal. */
const STATUS_ALIASES: Readonly<Record<string, ListedStatus>> = {
  'continued-as-new': 'continued',
  continuedasnew: 'continued',
  cancelled: 'canceled',
};

/** Statuses named in `text` (comma-separated, any case); INVALID names the one not known. */
export function parseStatuses(text: string): ListedStatus[] {
  const statuses: ListedStatus[] = [];
  for (const word of text.split(',')) {
    const name = word.trim().toLowerCase();
    if (name === '') continue;
    const status =
      STATUS_ALIASES[name] ?? LISTED_STATUSES.find((listed) => listed === name) ?? undefined;
    if (!status) {
      throw new LuactError(
        'INVALID',
        `unknown workflow status "${word.trim()}" (one of: ${LISTED_STATUSES.join(', ')})`,
        { retryable: false },
      );
    }
    if (!statuses.includes(status)) statuses.push(status);
  }
  return statuses;
}

/**
 * The runs `query` selects, newest first (by start; runs with no known start, whose journal
 * cannot be read, come first), cut to its limit.
 */
export function selectRuns<Run extends WorkflowSummary>(
  runs: readonly Run[],
  query: WorkflowQuery,
): WorkflowPage<Run> {
  const statuses = query.statuses?.length ? new Set(query.statuses) : undefined;
  const matching = runs.filter(
    (run) =>
      (!statuses || statuses.has(run.status)) &&
      (query.entry === undefined || run.entry === query.entry),
  );
  matching.sort(
    (a, b) =>
      (b.startedAt ?? Number.POSITIVE_INFINITY) - (a.startedAt ?? Number.POSITIVE_INFINITY) ||
      b.run - a.run ||
      (a.workflow < b.workflow ? -1 : a.workflow > b.workflow ? 1 : 0),
  );
  return { runs: matching.slice(0, query.limit), total: matching.length };
}
