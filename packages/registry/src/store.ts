import { err, LuactError, ok, type Result } from '@luact/core';
import type { ChangeSet, EntryChange } from './changes.js';
import type { Diagnostic } from './diagnostics.js';
import { type RegistryHistory, VersionHistory } from './history.js';
import { type Plan, type PlanOptions, planChanges } from './plan.js';
import { RegistrySnapshot } from './snapshot.js';

/** Sent to subscribers after a change set was committed. */
export interface RegistryEvent {
  readonly version: number;
  readonly previousVersion: number;
  readonly changes: readonly EntryChange[];
  readonly snapshot: RegistrySnapshot;
}

export type RegistryListener = (event: RegistryEvent) => void;

export interface RegistryOptions {
  /** A listener threw; by default the error is rethrown outside `apply` so it is not lost. */
  readonly onListenerError?: (error: unknown) => void;
  /** How many versions `history` keeps (default 100); the oldest go first, never the current. */
  readonly historyLimit?: number;
}

/**
 * The live registry of a node: the current snapshot, replaced atomically by change sets, and
 * the versions it had, to read or go back to. Holders of an older snapshot (running processes)
 * keep seeing the entries they started with.
 */
export class Registry {
  private current: RegistrySnapshot;
  private readonly kept: VersionHistory;
  private readonly listeners = new Set<RegistryListener>();
  private readonly onListenerError: (error: unknown) => void;

  constructor(initial: RegistrySnapshot = RegistrySnapshot.empty(), options: RegistryOptions = {}) {
    this.current = initial;
    this.kept = new VersionHistory(initial, options.historyLimit);
    this.onListenerError =
      options.onListenerError ??
      ((error) =>
        queueMicrotask(() => {
          throw error;
        }));
  }

  get snapshot(): RegistrySnapshot {
    return this.current;
  }

  get history(): RegistryHistory {
    return this.kept;
  }

  /** Validates the change set as a whole; commits all of it and notifies, or changes nothing. */
  apply(changes: ChangeSet, options: PlanOptions = {}): Result<Plan, Diagnostic[]> {
    const planned = planChanges(this.current, changes, {
      ...options,
      version: this.kept.latest + 1,
    });
    if (!planned.ok || planned.value.changes.length === 0) return planned;
    this.kept.record(planned.value.snapshot, this.current.version);
    this.commit(planned.value.snapshot, planned.value.changes);
    return planned;
  }

  /**
   * Makes a kept version current again (back or forward): no new version is made, and
   * subscribers are told the difference from the version it replaces. The kept snapshot was
   * valid as a whole when committed, so it is not checked again.
   */
  applyVersion(version: number): Result<readonly EntryChange[], LuactError> {
    const target = this.kept.snapshotAt(version);
    if (!target) {
      return err(
        new LuactError('NOT_FOUND', `registry version ${version} is not kept`, {
          retryable: false,
          details: { version, kept: this.kept.versions() },
        }),
      );
    }
    const changes = differences(this.current, target);
    if (target !== this.current) this.commit(target, changes);
    return ok(changes);
  }

  private commit(next: RegistrySnapshot, changes: readonly EntryChange[]): void {
    const previousVersion = this.current.version;
    this.current = next;
    const event: RegistryEvent = {
      version: next.version,
      previousVersion,
      changes,
      snapshot: next,
    };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** Calls `listener` after every committed change set; returns the unsubscribe function. */
  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What going from `from` to `to` does to each entry (an entry of equal content is unchanged). */
function differences(from: RegistrySnapshot, to: RegistrySnapshot): EntryChange[] {
  const changes: EntryChange[] = [];
  for (const entry of to.entries()) {
    const previous = from.get(entry.id);
    if (!previous) changes.push({ type: 'created', entry });
    else if (previous.fingerprint !== entry.fingerprint)
      changes.push({ type: 'updated', entry, previous });
  }
  for (const previous of from.entries()) {
    if (!to.has(previous.id)) changes.push({ type: 'deleted', previous });
  }
  return changes;
}
