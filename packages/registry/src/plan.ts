import { type EntryId, err, ok, type Result } from '@luact/core';
import { activateEntry } from './activate.js';
import type { Change, ChangeSet, EntryChange } from './changes.js';
import type { DefinitionOrigin } from './definition.js';
import { type Diagnostic, hasErrors, sortDiagnostics } from './diagnostics.js';
import { compileDefinition, diagnosticAt, type Entry } from './entry.js';
import { duplicateEnvVariableNames } from './env-names.js';
import type { DependencyGraph } from './graph.js';
import type { Environment } from './placeholders.js';
import { RegistrySnapshot } from './snapshot.js';
import { didYouMean } from './suggest.js';

export interface Plan {
  readonly snapshot: RegistrySnapshot;
  readonly changes: readonly EntryChange[];
  readonly warnings: readonly Diagnostic[];
}

export interface PlanOptions {
  /**
   * Also activate every changed entry against this environment, so unset `${env:…}` variables
   * and values that only fail once substituted are reported with the rest.
   */
  readonly env?: Environment;
  /** The version the plan commits as (default: the base's + 1; a registry that went back to an
   * older version numbers past every version it ever had). */
  readonly version?: number;
}

/**
 * Validates `changes` against `base` as a whole: every changed entry against its kind, then the
 * resulting set for duplicate IDs, dangling or ill-kinded references and dependency cycles.
 * Either the next snapshot, or every problem found (warnings included), sorted by place.
 */
export function planChanges(
  base: RegistrySnapshot,
  changes: ChangeSet,
  options: PlanOptions = {},
): Result<Plan, Diagnostic[]> {
  const builder = new PlanBuilder(base, options);
  for (const change of changes) builder.apply(change);
  return builder.finish();
}

class PlanBuilder {
  private readonly next: Map<EntryId, Entry>;
  private readonly diagnostics: Diagnostic[] = [];
  private readonly changed = new Map<EntryId, EntryChange>();
  /** IDs whose definitions failed before an entry existed (unknown kind): not dangling. */
  private readonly declaredOnly = new Set<EntryId>();
  /** Where each ID of this change set was first defined, to name both places of a duplicate. */
  private readonly firstOrigins = new Map<EntryId, DefinitionOrigin>();
  private readonly version: number;

  constructor(
    private readonly base: RegistrySnapshot,
    private readonly options: PlanOptions,
  ) {
    this.next = new Map(base.entries().map((entry) => [entry.id, entry]));
    this.version = options.version ?? base.version + 1;
  }

  apply(change: Change): void {
    if (change.op === 'delete') {
      this.delete(change.id);
      return;
    }
    const compiled = compileDefinition(change.definition);
    this.diagnostics.push(...compiled.diagnostics);
    const { id, entry } = compiled;
    if (id === undefined) return;
    const existing = this.next.get(id);
    if (change.op === 'create' && (existing || this.declaredOnly.has(id))) {
      this.reportDuplicate(id, change, existing?.origin ?? this.firstOrigins.get(id));
      return;
    }
    if (change.definition.origin && !this.firstOrigins.has(id)) {
      this.firstOrigins.set(id, change.definition.origin);
    }
    if (change.op === 'update' && !existing) {
      this.diagnostics.push(this.notFound(id, 'update'));
      return;
    }
    if (!entry) {
      this.declaredOnly.add(id);
      this.next.delete(id);
      return;
    }
    if (existing?.fingerprint === entry.fingerprint) return;
    const committed: Entry = { ...entry, revision: this.version };
    if (this.options.env && !hasErrors(compiled.diagnostics)) {
      const activated = activateEntry(committed, this.options.env);
      if (!activated.ok) this.diagnostics.push(...activated.error);
    }
    this.next.set(id, committed);
    const original = this.base.get(id);
    this.changed.set(
      id,
      original
        ? { type: 'updated', entry: committed, previous: original }
        : { type: 'created', entry: committed },
    );
  }

  finish(): Result<Plan, Diagnostic[]> {
    const unchanged = this.changed.size === 0;
    const snapshot = unchanged ? this.base : new RegistrySnapshot(this.version, this.next);
    if (!unchanged) {
      this.checkReferences();
      this.checkCycles(snapshot.graph);
      this.diagnostics.push(...duplicateEnvVariableNames(this.next.values()));
    }
    if (hasErrors(this.diagnostics)) return err(sortDiagnostics(this.diagnostics));
    return ok({
      snapshot,
      changes: [...this.changed.values()],
      warnings: sortDiagnostics(this.diagnostics),
    });
  }

  private delete(id: EntryId): void {
    const existing = this.next.get(id);
    if (!existing) {
      this.diagnostics.push(this.notFound(id, 'delete'));
      return;
    }
    this.next.delete(id);
    const original = this.base.get(id);
    if (original) this.changed.set(id, { type: 'deleted', previous: original });
    else this.changed.delete(id);
  }

  private checkReferences(): void {
    for (const entry of this.next.values()) {
      for (const reference of entry.references) {
        const target = this.next.get(reference.target);
        if (!target) {
          if (this.declaredOnly.has(reference.target)) continue;
          this.report(
            entry,
            reference.path,
            'dangling-reference',
            `refers to "${reference.target}", which does not exist${didYouMean(reference.target, this.next.keys())}`,
          );
        } else if (reference.kinds.length > 0 && !reference.kinds.includes(target.kind)) {
          this.report(
            entry,
            reference.path,
            'wrong-reference-kind',
            `refers to "${target.id}", a ${target.kind} entry; expected ${reference.kinds.join(' or ')}`,
          );
        }
      }
    }
  }

  private checkCycles(graph: DependencyGraph): void {
    for (const cycle of graph.cycles()) {
      const [first, second] = cycle as [EntryId, EntryId];
      const entry = this.next.get(first);
      if (!entry) continue;
      const field = entry.references.find((reference) => reference.target === second)?.path ?? [];
      this.report(entry, field, 'dependency-cycle', `dependency cycle: ${cycle.join(' → ')}`);
    }
  }

  private reportDuplicate(
    id: EntryId,
    change: Change & { op: 'create' | 'update' },
    first: DefinitionOrigin | undefined,
  ): void {
    const diagnostic = diagnosticAt(change.definition.origin, id, {
      severity: 'error',
      code: 'duplicate-id',
      message: `entry "${id}" is defined more than once`,
      path: ['name'],
      at: 'value',
    });
    const { file, line, column } = first ?? {};
    this.diagnostics.push(
      file === undefined || line === undefined || column === undefined
        ? diagnostic
        : {
            ...diagnostic,
            related: { label: 'first defined at', location: { file, line, column } },
          },
    );
  }

  private notFound(id: EntryId, op: 'update' | 'delete'): Diagnostic {
    return {
      severity: 'error',
      code: 'entry-not-found',
      entry: id,
      message: `cannot ${op} "${id}": no such entry`,
    };
  }

  private report(
    entry: Entry,
    path: readonly (string | number)[],
    code: Diagnostic['code'],
    message: string,
  ): void {
    this.diagnostics.push(
      diagnosticAt(entry.origin, entry.id, { severity: 'error', code, message, path, at: 'value' }),
    );
  }
}
