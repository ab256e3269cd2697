/**
 * Which process hosts of a node run on worker threads, and on how many: decided from the
 * registry at start, and for a host added or changed while the node runs.
 */
import { availableParallelism } from 'node:os';
import { LuactError } from '@luact/core';
import { FUNCTION_HOST, type HostLimits, INBOX_HOST } from '@luact/process';
import {
  activateEntry,
  type Diagnostic,
  type EntryChange,
  type Environment,
  type RegistrySnapshot,
} from '@luact/registry';
import { DEFAULT_LIMITS } from '../limits.js';
import type { MailLimits } from './mail-room.js';
import type { ThreadPlan } from './thread-plan.js';

/** The ID of the node's main host (MAIN_HOST of node.ts, kept here to avoid a cycle). */
const MAIN_HOST_ID = 'luact:main';

/** A process host that runs on worker threads. */
export interface WorkerHost {
  readonly id: string;
  readonly workers: number;
  readonly limits: HostLimits;
}

/** The threads a node's registry asks for, and what it said about them. */
export interface WorkerPlan {
  readonly plan: ThreadPlan;
  readonly hosts: readonly WorkerHost[];
  /** A `workers` above the machine's cores is run with as many threads as there are cores. */
  readonly warnings: readonly Diagnostic[];
  /** The count of a host whose entry sets no `workers` (see workersByDefault). */
  readonly defaultWorkers: number;
}

/**
 * The worker hosts of `snapshot`, their thread counts (at most the machine's cores).
 * `defaultWorkers` (see workersByDefault) is the count of the node's main host and of every
 * process.host whose entry sets no `workers`.
 */
export function planWorkers(
  snapshot: RegistrySnapshot,
  env: Environment,
  defaultWorkers = 1,
): WorkerPlan {
  const cores = availableParallelism();
  const hosts: WorkerHost[] = [];
  const warnings: Diagnostic[] = [];
  const mainHosts = [FUNCTION_HOST, INBOX_HOST];
  const mailLimits: Record<string, MailLimits> = {
    [MAIN_HOST_ID]: mailLimitsOf(DEFAULT_LIMITS),
    [FUNCTION_HOST]: mailLimitsOf(DEFAULT_LIMITS),
  };
  const ownWorkers = Math.min(defaultWorkers, cores);
  if (ownWorkers > 1) hosts.push({ id: MAIN_HOST_ID, workers: ownWorkers, limits: DEFAULT_LIMITS });
  else mainHosts.push(MAIN_HOST_ID);
  for (const entry of snapshot.ofKind('terminal.host')) mainHosts.push(entry.id);
  for (const entry of snapshot.ofKind('process.host')) {
    const config = activateEntry(entry, env);
    const written = (entry.fields.host as { workers?: unknown } | undefined)?.workers;
    const asked = !config.ok
      ? 1
      : written === undefined
        ? defaultWorkers
        : config.value.host.workers;
    const workers = Math.min(asked, cores);
    if (config.ok) mailLimits[entry.id] = mailLimitsOf(config.value.host);
    if (workers < asked) {
      warnings.push({
        severity: 'warning',
        code: 'invalid-value',
        entry: entry.id,
        field: 'host.workers',
        message: `workers: ${asked} is more than this machine's ${cores} cores: the host runs on ${cores} worker threads`,
      });
    }
    if (config.ok && workers > 1) {
      const { workers: _, ...limits } = config.value.host;
      hosts.push({ id: entry.id, workers, limits });
    } else mainHosts.push(entry.id);
  }
  const workerHosts = hosts.map(({ id, workers }) => ({ id, workers }));
  return { plan: { workerHosts, mainHosts, mailLimits }, hosts, warnings, defaultWorkers };
}

/**
 * Host `hostId` as it would run on worker threads in `snapshot` (its `workers`, else
 * `defaultWorkers`), or undefined when it would run on the main thread.
 */
export function workerHostOf(
  hostId: string,
  snapshot: RegistrySnapshot,
  env: Environment,
  defaultWorkers = 1,
): WorkerHost | undefined {
  return planWorkers(snapshot, env, defaultWorkers).hosts.find((host) => host.id === hostId);
}

/**
 * Why `changes` cannot be applied while a node without worker threads runs: they add a host
 * that would run on worker threads (`wouldRunOnWorkers`), or change one to: the node's
 * threads and their links start with it. (A node that runs worker threads adds, changes and
 * removes such hosts while it runs.)
 */
export function workerHostChanges(
  changes: readonly EntryChange[],
  wouldRunOnWorkers: (hostId: string) => boolean,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const change of changes) {
    if (change.type === 'deleted' || change.entry.kind !== 'process.host') continue;
    if (!wouldRunOnWorkers(change.entry.id)) continue;
    problems.push({
      severity: 'error',
      code: 'invalid-value',
      entry: change.entry.id,
      field: 'host.workers',
      message: `a process host on worker threads (workers > 1) cannot be ${change.type === 'created' ? 'added' : 'changed to'} while a node that runs no worker threads runs: restart the node to apply it`,
    });
  }
  return problems;
}

export function mailLimitsOf(limits: HostLimits): MailLimits {
  const { max_mailbox, max_mailbox_bytes, max_message_size } = limits;
  return { max_mailbox, max_mailbox_bytes, max_message_size };
}

/**
 * How many worker threads a node gives its main host and every process.host whose entry sets no
 * `workers`: `LUACT_WORKERS` of this Node.js process (1 when unset), the switch that runs the
 * acceptance suites on worker threads. A node with an injected clock keeps 1 (the clock cannot
 * cross threads).
 */
export function workersByDefault(asked: number | undefined, canRunWorkers: boolean): number {
  if (!canRunWorkers) return 1;
  const count = asked ?? Number(process.env.LUACT_WORKERS ?? 1);
  if (!Number.isInteger(count) || count < 1)
    throw new LuactError('INVALID', `LUACT_WORKERS must be a whole number ≥ 1, not ${count}`, {
      retryable: false,
    });
  return count;
}
