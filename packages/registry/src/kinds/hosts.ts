import type { EntryId } from '@luact/core';
import {
  anything,
  boolean,
  byteSize,
  type CheckIssue,
  defaultsOf,
  duration,
  type Infer,
  integer,
  map,
  object,
  oneOf,
  optional,
  reference,
  required,
  section,
  string,
  withDefault,
} from '../schema/index.js';
import { type Lifecycle, lifecycle } from './lifecycle.js';

/** The Lua limits every host of Lua code has (a process.host's, a workflow.host's VM). */
const limitFields = {
  max_processes: withDefault(integer({ min: 1 }), 100_000),
  /** Messages and events a process holds not yet received; a send past it is RATE_LIMITED. */
  max_mailbox: withDefault(integer({ min: 1 }), 10_000),
  /** Bytes (payloads and topics) a process holds not yet received; a send past it is RATE_LIMITED. */
  max_mailbox_bytes: withDefault(byteSize(), 67_108_864),
  /** One message's payload; also spawn arguments, context values and exit values to a process. */
  max_message_size: withDefault(byteSize(), 1_048_576),
  /** Lua instructions a process may run before it is preempted. */
  reductions: withDefault(integer({ min: 100 }), 10_000),
  /** How long a process may run before it is preempted (whichever of the two comes first). */
  time_slice: withDefault(duration(), 2),
  /**
   * How long a process may run where it cannot be preempted (a metamethod or callback called
   * from C, one long built-in call) before it is stopped with a TIMEOUT error.
   */
  max_slice: withDefault(duration(), 1_000),
  /** Lua heap of all the host's processes together; an allocation past it fails its process. */
  max_memory: withDefault(byteSize(), 268_435_456),
  /** Lua heap one process may hold; an allocation past it fails that process. */
  max_process_memory: withDefault(byteSize(), 67_108_864),
};

const limitChecks = {
  check(limits: { max_mailbox_bytes: number; max_message_size: number }, issue: CheckIssue) {
    const { max_mailbox_bytes: mailbox, max_message_size: message } = limits;
    // 0: a placeholder not resolved yet (files are checked before the environment is known).
    if (mailbox > 0 && message > 0 && mailbox < message) {
      issue(
        ['max_mailbox_bytes'],
        `max_mailbox_bytes (${mailbox} bytes) must be at least max_message_size (${message} bytes): a message of the largest size could never be delivered`,
      );
    }
  },
};

const hostLimits = object(limitFields, limitChecks);

/** The limits of a host's Lua VM, as every host of Lua code has them. */
export type HostLimitsConfig = Infer<typeof hostLimits>;

/** The limits of a host that sets none. */
export const DEFAULT_HOST_LIMITS: HostLimitsConfig = defaultsOf(hostLimits);

export const processHost = object({
  host: section(
    object(
      {
        ...limitFields,
        /**
         * Threads the host runs its processes on, each with a Lua engine of its own: 1 (the
         * default) keeps them on the node's main thread.
         */
        workers: withDefault(integer({ min: 1 }), 1),
      },
      limitChecks,
    ),
  ),
  lifecycle,
});

export type ProcessHostConfig = Infer<typeof processHost>;

/**
 * A process host whose processes own the node's console: `io` reads its stdin and writes its
 * stdout and stderr (`luact run --exec` starts a process.lua entry on it). Its Lua limits are
 * a process.host's.
 */
export const terminalHost = object({
  host: section(hostLimits),
  /**
   * Accepted as Wippy spells it, and changes nothing: log records go to stderr, and while a
   * console program runs (`luact run --exec` on this host) only warnings and errors do.
   */
  hide_logs: withDefault(boolean(), false),
  lifecycle,
});

export type TerminalHostConfig = Infer<typeof terminalHost>;

const journal = object({
  /** Default: jetstream when the host has a nats.connection, else file. */
  backend: optional(oneOf(['file', 'jetstream'])),
  /** File journal directory; default `<app state dir>/journal`. */
  dir: optional(string()),
  fsync: withDefault(oneOf(['always', 'batch', 'never']), 'batch'),
  replicas: withDefault(integer({ min: 1, max: 5 }), 1),
  max_age: optional(duration()),
  /**
   * How long a finished run's journal is kept after it ended; the host removes older ones.
   * Default: kept for ever.
   */
  retention: optional(duration()),
});

export type JournalConfig = Infer<typeof journal>;

const DEFAULT_JOURNAL: JournalConfig = defaultsOf(journal);

const CONNECTION_KINDS = ['nats.connection', 'temporal.client'];

/** The task_timeout of a workflow.host that sets none, in ms. */
export const DEFAULT_TASK_TIMEOUT = 10_000;

export const workflowHost = object({
  /** The queue workflows are started on; default: the entry's name. */
  queue: optional(string()),
  connection: optional(reference(CONNECTION_KINDS)),
  journal: section(journal),
  /** Limits of the host's Lua VM, as a process.host has them. */
  host: section(hostLimits),
  /**
   * How long a run's code may compute without waiting (for a call, a timer, a message); past
   * it the run is blocked with the place it was running, and an operator can terminate it.
   */
  task_timeout: withDefault(duration(), DEFAULT_TASK_TIMEOUT),
  lifecycle,
});

export type WorkflowHostConfig = Infer<typeof workflowHost>;

/**
 * `temporal.worker` from configurations written for the Temporal-backed design: its
 * `task_queue` names the queue and its `client` the connection; Temporal tuning is ignored.
 */
export const temporalWorker = map(
  object({
    client: required(reference(CONNECTION_KINDS)),
    task_queue: required(string()),
    worker_options: optional(anything()),
    lifecycle,
  }),
  (worker): WorkflowHostConfig => ({
    queue: worker.task_queue,
    connection: worker.client as EntryId,
    journal: DEFAULT_JOURNAL,
    host: DEFAULT_HOST_LIMITS,
    task_timeout: DEFAULT_TASK_TIMEOUT,
    lifecycle: worker.lifecycle as Lifecycle,
  }),
);
