import { LuactError } from '@luact/core';
import type { ConflictPolicy } from './records.js';

/**
 * The options of a workflow spawn: `workflow.id` (a stable ID, like `with_name`) and
 * `workflow.id_conflict_policy` — also in their `temporal.workflow.*` spellings, so code
 * written for the Temporal-backed design runs unchanged. Anything else is an error.
 */
export function workflowSpawnOptions(options: Readonly<Record<string, unknown>> | undefined): {
  id: string | undefined;
  conflict: ConflictPolicy;
} {
  let id: string | undefined;
  let conflict: ConflictPolicy = 'use_existing';
  for (const [key, value] of Object.entries(options ?? {})) {
    const option = key.replace(/^temporal\./, '');
    if (option === 'workflow.id' && typeof value === 'string') id = value;
    else if (
      option === 'workflow.id_conflict_policy' &&
      (value === 'use_existing' || value === 'fail' || value === 'terminate_existing')
    )
      conflict = value;
    else
      throw new LuactError(
        'INVALID',
        `unknown or invalid workflow spawn option "${key}" (workflow.id, workflow.id_conflict_policy: use_existing, fail or terminate_existing)`,
        { retryable: false },
      );
  }
  return { id, conflict };
}
