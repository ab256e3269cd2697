import { describe, expect, it } from 'vitest';
import { findEntries } from './criteria.js';
import type { EntryDefinition } from './definition.js';
import { planChanges } from './plan.js';
import { RegistrySnapshot } from './snapshot.js';

const definitions: EntryDefinition[] = [
  {
    namespace: 'app',
    name: 'temporal',
    kind: 'temporal.client',
    fields: { address: 'localhost:7233' },
  },
  {
    namespace: 'app',
    name: 'queue',
    kind: 'temporal.worker',
    fields: { client: 'temporal', task_queue: 'q' },
  },
  { namespace: 'app', name: 'a.b', kind: 'registry.entry', meta: { n: 1 }, fields: {} },
  { namespace: 'app', name: 'axb', kind: 'registry.entry', meta: { n: 1.5 }, fields: {} },
];

function entries() {
  const planned = planChanges(
    RegistrySnapshot.empty(),
    definitions.map((definition) => ({ op: 'create', definition })),
  );
  if (!planned.ok) throw new Error(planned.error.map((d) => d.message).join('; '));
  return planned.value.snapshot.entries();
}

const ids = (criteria: Record<string, unknown>) => {
  const found = findEntries(entries(), criteria);
  return found.ok ? found.value.map((entry) => entry.id) : found.error;
};

describe('findEntries', () => {
  it('matches a kind as declared or as the kind it is an alias of', () => {
    expect(ids({ kind: 'temporal.worker' })).toEqual(['app:queue']);
    expect(ids({ '.kind': 'workflow.host' })).toEqual(['app:queue']);
  });

  it('reads only * as a wildcard: a dot in a pattern is a dot', () => {
    expect(ids({ '.name': 'a.b' })).toEqual(['app:a.b']);
    expect(ids({ '.name': 'a.*' })).toEqual(['app:a.b']);
    expect(ids({ '.id': '*b' })).toEqual(['app:a.b', 'app:axb']);
  });

  it('compares numbers as numbers', () => {
    expect(ids({ n: 1 })).toEqual(['app:a.b']);
    expect(ids({ 'meta.n': 1.5 })).toEqual(['app:axb']);
  });

  it('names a criterion it cannot read', () => {
    expect(ids({ meta: 'x' })).toBe(
      'criterion meta must be a table of meta fields, not string "x"',
    );
    expect(ids({ '^meta.n': 1 })).toBe('criterion ^meta.n must be a string, not number 1');
    expect(ids({ '~': 'x' })).toBe('criterion "~" names no meta field');
  });
});
