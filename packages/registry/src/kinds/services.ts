import type { EntryId } from '@luact/core';
import {
  anything,
  duration,
  type Infer,
  integer,
  list,
  map,
  object,
  oneOf,
  optional,
  reference,
  required,
  string,
  withDefault,
} from '../schema/index.js';
import { lifecycle } from './lifecycle.js';

const CHILD_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export const processService = object({
  process: required(reference(['process.lua'])),
  host: required(reference(['process.host'])),
  /** Arguments passed to the process's method. */
  input: withDefault(list(anything()), [] as unknown[]),
  lifecycle,
});

export type ServiceConfig = Infer<typeof processService>;

/** What a supervisor child runs: a process entry, or a nested supervisor. */
export type ChildStart =
  | { readonly kind: 'process'; readonly entry: EntryId }
  | { readonly kind: 'supervisor'; readonly entry: EntryId };

const childSpec = map(
  object(
    {
      id: required(string({ pattern: CHILD_ID, hint: 'a child ID (letters, digits, _ . -)' })),
      process: optional(reference(['process.lua'])),
      supervisor: optional(reference(['process.supervisor'])),
      /** permanent: always restarted; transient: only after a failure; temporary: never. */
      restart: withDefault(oneOf(['permanent', 'transient', 'temporary']), 'permanent'),
      input: withDefault(list(anything()), [] as unknown[]),
      shutdown_timeout: withDefault(duration(), 5_000),
    },
    {
      check(child, issue) {
        if ((child.process === undefined) === (child.supervisor === undefined)) {
          issue([], `child "${child.id}" needs exactly one of "process" or "supervisor"`);
        }
      },
    },
  ),
  ({ process, supervisor, ...child }) => ({
    ...child,
    start: (process !== undefined
      ? { kind: 'process', entry: process }
      : { kind: 'supervisor', entry: supervisor as EntryId }) satisfies ChildStart as ChildStart,
  }),
);

export type ChildSpec = Infer<typeof childSpec>;

export const processSupervisor = object(
  {
    host: required(reference(['process.host'])),
    strategy: withDefault(oneOf(['one_for_one', 'one_for_all', 'rest_for_one']), 'one_for_one'),
    /** Restart intensity: more than max_restarts within period stops the supervisor. */
    max_restarts: withDefault(integer({ min: 0 }), 3),
    period: withDefault(duration(), 5_000),
    children: required(list(childSpec)),
    lifecycle,
  },
  {
    check(supervisor, issue) {
      const seen = new Set<string>();
      supervisor.children.forEach((child, index) => {
        if (seen.has(child.id))
          issue(['children', index, 'id'], `duplicate child ID "${child.id}"`);
        seen.add(child.id);
      });
    },
  },
);

export type SupervisorConfig = Infer<typeof processSupervisor>;
