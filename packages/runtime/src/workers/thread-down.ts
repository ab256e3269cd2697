/**
 * A worker thread that is gone — it ended, failed, or stopped answering and was terminated —
 * as every other thread of the node learns it: which PIDs were its, and the error what
 * followed them there ends with.
 */
import { LuactError } from '@luact/core';
import { nodeOf, type Pid } from '@luact/process';
import { pidHostAndId } from './thread-plan.js';

/** Plain data (the main thread sends it to every worker). */
export interface ThreadDown {
  /** The thread's key (workerThread(host, w)). */
  readonly thread: string;
  readonly host: string;
  readonly w: number;
  /** How many workers the host runs. */
  readonly workers: number;
  /** The worker's PID counter when it died: each of its PIDs `k·N + w` has `k` below it. */
  readonly fence: number;
  /** Why it is gone ("it stopped answering …", "it exited with code 1"). */
  readonly why: string;
  /** The node's name in its cluster (its PIDs name it); undefined standalone. */
  readonly node?: string;
}

/** Whether `pid` is one the lost worker ran (its replacement's PIDs continue past the fence). */
export function ranOn(down: ThreadDown): (pid: Pid) => boolean {
  const { host, w, workers, fence, node } = down;
  const below = fence * workers;
  return (pid) => {
    if (node !== undefined && nodeOf(pid) !== node) return false;
    const parts = pidHostAndId(pid);
    return (
      parts !== undefined && parts.host === host && parts.id % workers === w && parts.id < below
    );
  };
}

/** What ends for whatever followed a process of the lost worker: retryable, as a lost node. */
export function workerDownError(down: ThreadDown): LuactError {
  return new LuactError('UNAVAILABLE', `worker down: ${down.thread} (${down.why})`, {
    retryable: true,
    details: {
      host: down.host,
      worker: down.w,
      thread: down.thread,
      ...(down.node !== undefined ? { node: down.node } : {}),
    },
  });
}
