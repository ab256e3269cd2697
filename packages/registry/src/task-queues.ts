import type { EntryId } from '@luact/core';
import type { RegistrySnapshot } from './snapshot.js';

/**
 * The workflow host a task-queue name stands for, as code written for Temporal names hosts:
 * the one workflow.host whose `queue` (or, declared as a temporal.worker, `task_queue`) is
 * `name`. Undefined when none or several have it: an ambiguous name starts nothing.
 */
export function workflowHostOfQueue(snapshot: RegistrySnapshot, name: string): EntryId | undefined {
  let found: EntryId | undefined;
  for (const host of snapshot.ofKind('workflow.host')) {
    const queue = host.fields.queue ?? host.fields.task_queue;
    if (queue !== name) continue;
    if (found !== undefined) return undefined;
    found = host.id;
  }
  return found;
}
