import type { MessagePort } from 'node:worker_threads';
import type { ErrorData } from '@luact/core';
import type { WallAnchor } from '@luact/lua';
import type { HostLimits, NodeIdentity, Pid } from '@luact/process';
import type { Entry } from '@luact/registry';
import type { ProcessView } from '../control/views.js';
import type { MailLimits } from './mail-room.js';
import type { ThreadDown } from './thread-down.js';
import type { ThreadPlan } from './thread-plan.js';

/** What a worker thread is started with (structured-clone data; the ports are transferred). */
export interface WorkerBoot {
  readonly host: string;
  /** This worker's index among the host's. */
  readonly w: number;
  readonly limits: HostLimits;
  /** The pool of the host's max_memory its workers share (see HostMemoryPool). */
  readonly memory: SharedArrayBuffer;
  readonly plan: ThreadPlan;
  /** The shared counters of every worker host (see WorkerCounters). */
  readonly counters: readonly {
    readonly host: string;
    readonly buffer: SharedArrayBuffer;
    readonly workers: number;
  }[];
  /** This worker's end of its link to every other thread. */
  readonly ports: readonly { readonly thread: string; readonly port: MessagePort }[];
  readonly registry: RegistryCopy;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The node's wall clock, which the thread reads too: times stamped on any thread compare. */
  readonly clock: WallAnchor;
  /**
   * The TypeScript functions registered on main when the worker starts: its processes call
   * them there (later ones come on its link).
   */
  readonly functions: readonly string[];
  /** The workflow hosts of the node: a worker's processes do not reach them yet. */
  readonly workflowHosts: readonly string[];
  /**
   * The node's process names when the worker starts after others (a replacement): see
   * NameAuthority.threadJoined. None for the workers that start with the node.
   */
  readonly names?: readonly (readonly [string, string])[];
  /** Hosts a registry change is restarting as the worker starts (WorkerRouter.restartBegins). */
  readonly restarting: readonly string[];
  /** Where the worker says whether it is busy, and since when (see WorkerPulse). */
  readonly pulse: SharedArrayBuffer;
  /** Where the worker says whether it could still do anything (see ThreadActivity). */
  readonly activity: SharedArrayBuffer;
  /** The node runs with test hooks: the worker's processes get `luact_test`. */
  readonly testHooks: boolean;
  /**
   * On a cluster node: the node as its PIDs name it, and its cluster names when the worker
   * starts (later changes come on its link). The worker reaches the cluster through main.
   */
  readonly cluster?: {
    readonly identity: NodeIdentity;
    readonly names: readonly (readonly [string, string])[];
    /** With placement `spread`: the members of the current view (later views on the link). */
    readonly spread?: readonly string[];
  };
}

/** The registry as a worker gets it: entries without `origin` (a closure, which cannot cross). */
export interface RegistryCopy {
  readonly version: number;
  readonly entries: readonly Entry[];
}

/** What the main thread tells a worker outside the links. */
export type ToWorker =
  | { readonly t: 'stop' }
  /** A worker is gone; `port` is this worker's link to the thread that takes its place. */
  | { readonly t: 'thread-down'; readonly down: ThreadDown; readonly port: MessagePort }
  /**
   * A process host was added on worker threads while the node runs; `ports` are this worker's
   * links to its threads.
   */
  | {
      readonly t: 'host-added';
      readonly host: AddedHostData;
      readonly ports: readonly { readonly thread: string; readonly port: MessagePort }[];
    }
  /**
   * A process host of worker threads was removed while the node runs (its threads stopped; its
   * PIDs were below `below`): what followed its processes here ends with `error`.
   */
  | {
      readonly t: 'host-removed';
      readonly host: string;
      readonly below: number;
      readonly error: ErrorData;
    }
  /** A registry change restarts `host`, or is done with it (WorkerRouter.restartBegins). */
  | { readonly t: 'host-restarting'; readonly host: string; readonly done: boolean }
  /** A process host runs on the main thread (added there while the node runs). */
  | { readonly t: 'host-on-main'; readonly host: string; readonly mailLimits: MailLimits }
  /** What processes the worker runs (`luact ps`), or only process `pid`. */
  | { readonly t: 'list'; readonly id: number; readonly pid?: Pid };

/** A host added on worker threads while the node runs, as plain data (see AddedHost). */
export interface AddedHostData {
  readonly id: string;
  readonly workers: number;
  /** Its shared counters (see WorkerCounters). */
  readonly counters: SharedArrayBuffer;
  readonly mailLimits?: MailLimits;
}

/** What a worker tells the main thread outside the links. */
export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly error: ErrorData }
  | { readonly t: 'stopped' }
  | { readonly t: 'listed'; readonly id: number; readonly processes: readonly ProcessView[] };

export function registryCopy(version: number, entries: readonly Entry[]): RegistryCopy {
  return { version, entries: entries.map((entry) => ({ ...entry, origin: undefined })) };
}
