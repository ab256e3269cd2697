import type { EntryId } from '@luact/core';
import {
  boolean,
  defaultsOf,
  duration,
  type Infer,
  integer,
  list,
  number,
  object,
  reference,
  section,
  withDefault,
} from '../schema/index.js';

/** Restart with exponential backoff: attempt n waits min(initial · factor^(n-1), max) ± jitter. */
const restartPolicy = object(
  {
    initial_delay: withDefault(duration(), 1_000),
    max_delay: withDefault(duration(), 30_000),
    backoff_factor: withDefault(number({ min: 1 }), 2),
    jitter: withDefault(number({ min: 0, max: 1 }), 0.1),
    /** 0 = unlimited. */
    max_attempts: withDefault(integer({ min: 0 }), 0),
  },
  {
    check(policy, issue, phase) {
      if (phase === 'activate' && policy.max_delay < policy.initial_delay) {
        issue(['max_delay'], 'max_delay must not be shorter than initial_delay');
      }
    },
  },
);

export type RestartPolicy = Infer<typeof restartPolicy>;

export const DEFAULT_RESTART_POLICY: RestartPolicy = defaultsOf(restartPolicy);

const lifecycleObject = object({
  auto_start: withDefault(boolean(), false),
  start_timeout: withDefault(duration(), 10_000),
  stop_timeout: withDefault(duration(), 10_000),
  /** Running this long without failing resets the restart attempt count. */
  stable_threshold: withDefault(duration(), 30_000),
  requires: withDefault(list(reference()), [] as EntryId[], { alias: 'depends_on' }),
  restart: section(restartPolicy),
});

export type Lifecycle = Infer<typeof lifecycleObject>;

export const DEFAULT_LIFECYCLE: Lifecycle = defaultsOf(lifecycleObject);

/** The `lifecycle:` field of every kind the node starts and stops. */
export const lifecycle = section(lifecycleObject);
