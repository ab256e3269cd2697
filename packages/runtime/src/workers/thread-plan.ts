/**
 * The threads of a node and whose PIDs each runs: the main thread, and for every process host
 * with `workers` > 1 its worker threads. A process of such a host is numbered `k·N + w` by its
 * worker `w` of `N`, so any thread finds the thread of a PID from the PID alone.
 */
import type { Pid } from '@luact/process';
import type { MailLimits } from './mail-room.js';

/** The key of the node's main thread. */
export const MAIN_THREAD = 'main';

/** The key of worker `w` of host `host`. */
export function workerThread(host: string, w: number): string {
  return `${host}#${w}`;
}

/** The host and number of worker thread `thread` (see workerThread); undefined for main. */
export function workerOf(
  thread: string,
): { readonly host: string; readonly w: number } | undefined {
  const hash = thread.lastIndexOf('#');
  if (hash < 0) return undefined;
  return { host: thread.slice(0, hash), w: Number(thread.slice(hash + 1)) };
}

/** Plain data (it crosses to every worker as is). */
export interface ThreadPlan {
  /** Each host that runs on worker threads, with how many. */
  readonly workerHosts: readonly { readonly id: string; readonly workers: number }[];
  /** The process hosts of the main thread: mail to their PIDs goes there from a worker. */
  readonly mainHosts: readonly string[];
  /** The mailbox limits of the process hosts (mail across threads is admitted by them). */
  readonly mailLimits?: Readonly<Record<string, MailLimits>>;
}

/** Every thread of the plan's node, the main thread first. */
export function threadsOf(plan: ThreadPlan): string[] {
  return [
    MAIN_THREAD,
    ...plan.workerHosts.flatMap(({ id, workers }) =>
      Array.from({ length: workers }, (_, w) => workerThread(id, w)),
    ),
  ];
}

/** The host of a PID and the number after its `|` (NaN when it is no number: a workflow ID). */
export function pidHostAndId(pid: Pid): { readonly host: string; readonly id: number } | undefined {
  const bar = pid.indexOf('|');
  if (bar < 0) return undefined;
  const at = pid.lastIndexOf('@', bar);
  return { host: pid.slice(at < 0 ? 1 : at + 1, bar), id: Number(pid.slice(bar + 1, -1)) };
}
