import type { Diagnostic } from './diagnostics.js';
import { diagnosticAt, type Entry } from './entry.js';

/**
 * The public names of env.variable entries (their `variable` field) are how `env.get` finds
 * them, so two entries may not share one: each entry after the first with a taken name is an
 * error naming the entry that has it.
 */
export function duplicateEnvVariableNames(entries: Iterable<Entry>): Diagnostic[] {
  const owners = new Map<string, Entry>();
  const problems: Diagnostic[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'env.variable') continue;
    const name = entry.fields.variable;
    if (typeof name !== 'string') continue;
    const owner = owners.get(name);
    if (owner === undefined) {
      owners.set(name, entry);
      continue;
    }
    problems.push(
      diagnosticAt(entry.origin, entry.id, {
        severity: 'error',
        code: 'duplicate-env-variable',
        message: `env variable name "${name}" is already the name of ${owner.id}; env.get finds a variable by its name, so names must be unique (leave "variable" out to make one private, reached by its entry ID)`,
        path: ['variable'],
        at: 'value',
      }),
    );
  }
  return problems;
}
