import type { EntryId } from '@luact/core';
import type { Entry, EntryOf } from './entry.js';
import { DependencyGraph } from './graph.js';
import type { Kind } from './kinds/catalog.js';

/** One version of the registry: an immutable set of valid entries and their dependency graph. */
export class RegistrySnapshot {
  readonly graph: DependencyGraph;
  private sorted: readonly Entry[] | undefined;

  constructor(
    readonly version: number,
    private readonly byId: ReadonlyMap<EntryId, Entry>,
  ) {
    this.graph = DependencyGraph.of(byId.values());
  }

  static empty(): RegistrySnapshot {
    return new RegistrySnapshot(0, new Map());
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Entry | undefined {
    return this.byId.get(id as EntryId);
  }

  has(id: string): boolean {
    return this.byId.has(id as EntryId);
  }

  /** Every entry, ordered by ID. */
  entries(): readonly Entry[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.sorted;
  }

  ofKind<K extends Kind>(kind: K): EntryOf<K>[] {
    return this.entries().filter((entry): entry is Entry & EntryOf<K> => entry.kind === kind);
  }

  ids(): IterableIterator<EntryId> {
    return this.byId.keys();
  }
}
