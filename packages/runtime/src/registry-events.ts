import { encodeValue } from '@luact/lua';
import type { EventBus } from '@luact/process';
import type { RegistryEvent } from '@luact/registry';

const KINDS = {
  created: 'entry.create',
  updated: 'entry.update',
  deleted: 'entry.delete',
} as const;

/**
 * Announces each entry a change set created, updated or deleted on the node's event bus, as
 * Wippy does: system `registry`, kind `entry.create|update|delete`, path the entry ID, data
 * `{ id, kind, version }` (the entry's kind and the registry version the change made). The
 * entry's fields are not sent: they may hold what subscribers should not see.
 */
export function announceRegistryChanges(bus: EventBus, event: RegistryEvent): void {
  for (const change of event.changes) {
    const entry = change.type === 'deleted' ? change.previous : change.entry;
    bus.send({
      system: 'registry',
      kind: KINDS[change.type],
      path: entry.id,
      data: encodeValue({ id: entry.id, kind: entry.kind, version: event.version }),
    });
  }
}
