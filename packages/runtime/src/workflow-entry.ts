import { LuactError } from '@luact/core';
import { didYouMeanEntry, type Entry, type RegistrySnapshot } from '@luact/registry';

/**
 * The workflow.lua entry `id` names, for starting it as a workflow. An unknown ID is NOT_FOUND
 * with the workflow likely meant; an entry of another kind is INVALID, saying what it is and,
 * for code that runs on its own (a process or a function), how to run it instead.
 */
export function workflowEntry(snapshot: RegistrySnapshot, id: string, dir: string): Entry {
  const entry = snapshot.get(id);
  if (!entry) {
    const hint = didYouMeanEntry(snapshot, id, ['workflow.lua']);
    throw new LuactError('NOT_FOUND', `entry ${id} not found${hint}`, { retryable: false });
  }
  if (entry.kind !== 'workflow.lua') throw notAWorkflow(entry, dir);
  return entry;
}

export function notAWorkflow(entry: Entry, dir: string): LuactError {
  const runnable = entry.kind === 'process.lua' || entry.kind === 'function.lua';
  const instead = runnable
    ? `; run it with \`luact run ${dir} --exec ${entry.id}\``
    : '; only workflow.lua entries start as workflows';
  return new LuactError(
    'INVALID',
    `cannot start ${entry.id} as a workflow: it is a ${entry.kind} entry, not a workflow.lua${instead}`,
    { retryable: false },
  );
}
