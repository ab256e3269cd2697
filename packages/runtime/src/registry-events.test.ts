import { entryId } from '@luact/core';
import { decodeValue } from '@luact/lua';
import { type BusEvent, compilePattern, EventBus, type EventPattern } from '@luact/process';
import { Registry, RegistrySnapshot } from '@luact/registry';
import { describe, expect, it } from 'vitest';
import { announceRegistryChanges } from './registry-events.js';

function pattern(text: string): EventPattern {
  const compiled = compilePattern(text);
  if (typeof compiled === 'string') throw new Error(compiled);
  return compiled;
}

describe('registry changes on the event bus', () => {
  it('announces each created, updated and deleted entry with its ID, kind and version', () => {
    const bus = new EventBus();
    const seen: BusEvent[] = [];
    bus.subscribe(pattern('registry'), undefined, (event) => seen.push(event) > 0);
    const registry = new Registry(RegistrySnapshot.empty());
    registry.subscribe((event) => announceRegistryChanges(bus, event));
    const definition = (fields: Record<string, unknown>) => ({
      namespace: 'app',
      name: 'config',
      kind: 'registry.entry',
      fields,
    });
    expect(registry.apply([{ op: 'create', definition: definition({ a: 1 }) }]).ok).toBe(true);
    expect(registry.apply([{ op: 'update', definition: definition({ a: 2 }) }]).ok).toBe(true);
    expect(registry.apply([{ op: 'delete', id: entryId('app', 'config') }]).ok).toBe(true);
    expect(
      seen.map((event) => ({
        system: event.system,
        kind: event.kind,
        path: event.path,
        data: event.data && decodeValue(event.data),
      })),
    ).toEqual([
      {
        system: 'registry',
        kind: 'entry.create',
        path: 'app:config',
        data: { id: 'app:config', kind: 'registry.entry', version: 1 },
      },
      {
        system: 'registry',
        kind: 'entry.update',
        path: 'app:config',
        data: { id: 'app:config', kind: 'registry.entry', version: 2 },
      },
      {
        system: 'registry',
        kind: 'entry.delete',
        path: 'app:config',
        data: { id: 'app:config', kind: 'registry.entry', version: 3 },
      },
    ]);
  });
});
