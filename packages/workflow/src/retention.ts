import type { ClosedStream } from '@luact/journal';
import { runOfStream } from './run-stream.js';
import { readRunSummary } from './run-summary.js';

/** Sweeps for expired runs come at a tenth of the retention, between these bounds. */
const MIN_SWEEP_INTERVAL_MS = 1_000;
const MAX_SWEEP_INTERVAL_MS = 3_600_000;

/**
 * How often a host with `retentionMs` looks for expired runs: often enough that a run outlives
 * its retention by a tenth of it at most (an hour for long ones), rarely enough that listing the
 * closed runs (a read of every close marker on JetStream) stays cheap.
 */
export function sweepInterval(retentionMs: number): number {
  return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, retentionMs / 10));
}

/**
 * The closed runs to remove: those that ended at or before `cutoff` (workflow time, Unix ms),
 * by workflow, in run order, and of each workflow only the oldest runs up to the first one
 * that is kept. The runs a journal holds of a workflow then always stay its latest ones, so
 * once its latest run is removed none is left, and a new start can begin at run 1 again.
 * Only workflows `owns` selects count (on a cluster node, those of the partitions it drives).
 * A run closed without a summary this version reads (an older version's) is kept: when it
 * ended is not known without reading it.
 */
export function expiredRuns(
  closed: readonly ClosedStream[],
  cutoff: number,
  owns: (workflow: string) => boolean,
): Map<string, number[]> {
  const byWorkflow = new Map<string, { run: number; expired: boolean }[]>();
  for (const stream of closed) {
    const listed = runOfStream(stream.id);
    if (listed === undefined || !owns(listed.workflow)) continue;
    const { workflow, run } = listed;
    const summary = readRunSummary(stream.summary);
    const expired = summary !== undefined && summary.endedAt <= cutoff;
    const runs = byWorkflow.get(workflow);
    if (runs) runs.push({ run, expired });
    else byWorkflow.set(workflow, [{ run, expired }]);
  }
  const expired = new Map<string, number[]>();
  for (const [workflow, runs] of byWorkflow) {
    runs.sort((a, b) => a.run - b.run);
    const kept = runs.findIndex((run) => !run.expired);
    const oldest = (kept === -1 ? runs : runs.slice(0, kept)).map(({ run }) => run);
    if (oldest.length > 0) expired.set(workflow, oldest);
  }
  return expired;
}
