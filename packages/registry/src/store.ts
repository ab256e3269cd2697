import type { Result } from '@luact/core';
import type { ChangeSet, EntryChange } from './changes.js';
import type { Diagnostic } from './diagnostics.js';
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
}

/**
 * The live registry of a node: the current snapshot, replaced atomically by change sets.
 * Holders of an older snapshot (running processes) keep seeing the entries they started with.
 */
export class Registry {
  private current: RegistrySnapshot;
  private readonly listeners = new Set<RegistryListener>();
  private readonly onListenerError: (error: unknown) => void;

  constructor(initial: RegistrySnapshot = RegistrySnapshot.empty(), options: RegistryOptions = {}) {
    this.current = initial;
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

  /** Validates the change set as a whole; commits all of it and notifies, or changes nothing. */
  apply(changes: ChangeSet, options: PlanOptions = {}): Result<Plan, Diagnostic[]> {
    const planned = planChanges(this.current, changes, options);
    if (!planned.ok || planned.value.changes.length === 0) return planned;
    const previousVersion = this.current.version;
    this.current = planned.value.snapshot;
    const event: RegistryEvent = {
      version: this.current.version,
      previousVersion,
      changes: planned.value.changes,
      snapshot: this.current,
    };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
    return planned;
  }

  /** Calls `listener` after every committed change set; returns the unsubscribe function. */
  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
