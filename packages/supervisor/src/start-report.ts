import type { ServiceStatus } from './service-runner.js';

/** A service that is not up after a start, and why, in words for people. */
export interface StartProblem {
  readonly service: string;
  /** E.g. `service app:db failed to start: db.lua:9: boom (attempt 2, restarting)`. */
  readonly message: string;
}

/**
 * The services of a settled start that are not up: given up, restarting after a failed
 * attempt, or waiting behind one of those. Empty when every service runs (or is done).
 */
export function startProblems(statuses: readonly ServiceStatus[]): StartProblem[] {
  const problems: StartProblem[] = [];
  for (const status of statuses) {
    if (status.state === 'failed') {
      problems.push({
        service: status.id,
        message: `service ${status.id} failed to start: ${status.lastError ?? 'unknown error'} (gave up after ${attempts(status.attempts)})`,
      });
    } else if (status.state === 'starting' && status.lastError !== undefined) {
      problems.push({
        service: status.id,
        message: `service ${status.id} failed to start: ${status.lastError} (${attempts(status.attempts)} so far, restarting)`,
      });
    } else if (status.state === 'starting' && status.waitingFor.length > 0) {
      problems.push({
        service: status.id,
        message: `service ${status.id} did not start: it needs ${status.waitingFor.join(', ')}, which did not start`,
      });
    }
  }
  return problems;
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}
