import type { RegistrySnapshot } from './snapshot.js';

/** How many versions a registry keeps by default. */
export const DEFAULT_HISTORY_LIMIT = 100;

/**
 * The versions a registry kept, to read or go back to. Versions form a tree: each was planned
 * from the version current at the time (its `previous`); after going back to an older version,
 * the next change set branches from there.
 */
export interface RegistryHistory {
  /** The kept version numbers, oldest first. */
  versions(): number[];
  /** The highest version number the registry ever committed (kept or not). */
  readonly latest: number;
  snapshotAt(version: number): RegistrySnapshot | undefined;
  /** The version `version` was planned from, if it is still kept. */
  previousOf(version: number): number | undefined;
  /** The version most recently planned from `version`, if it is still kept. */
  nextOf(version: number): number | undefined;
}

interface KeptVersion {
  readonly snapshot: RegistrySnapshot;
  readonly previous: number | undefined;
  next: number | undefined;
}

/**
 * Snapshots are immutable and share their entries, so keeping a version costs its ID map and
 * graph, not copies of the entries. Past `limit` versions the oldest are forgotten, never the
 * current one.
 */
export class VersionHistory implements RegistryHistory {
  private readonly kept = new Map<number, KeptVersion>();
  private highest: number;

  constructor(
    initial: RegistrySnapshot,
    private readonly limit: number = DEFAULT_HISTORY_LIMIT,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`historyLimit must be a positive integer, not ${limit}`);
    }
    this.kept.set(initial.version, { snapshot: initial, previous: undefined, next: undefined });
    this.highest = initial.version;
  }

  get latest(): number {
    return this.highest;
  }

  /** Keeps `snapshot`, planned from version `previous`; forgets the oldest past the limit. */
  record(snapshot: RegistrySnapshot, previous: number): void {
    const parent = this.kept.get(previous);
    if (parent) parent.next = snapshot.version;
    this.kept.set(snapshot.version, { snapshot, previous, next: undefined });
    this.highest = Math.max(this.highest, snapshot.version);
    for (const version of this.versions()) {
      if (this.kept.size <= this.limit) break;
      if (version !== snapshot.version) this.kept.delete(version);
    }
  }

  versions(): number[] {
    return [...this.kept.keys()].sort((a, b) => a - b);
  }

  snapshotAt(version: number): RegistrySnapshot | undefined {
    return this.kept.get(version)?.snapshot;
  }

  previousOf(version: number): number | undefined {
    const previous = this.kept.get(version)?.previous;
    return previous !== undefined && this.kept.has(previous) ? previous : undefined;
  }

  nextOf(version: number): number | undefined {
    const next = this.kept.get(version)?.next;
    return next !== undefined && this.kept.has(next) ? next : undefined;
  }
}
