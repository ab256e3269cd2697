import type { EntryId } from '@luact/core';
import type { Entry } from './entry.js';

/**
 * Which entries depend on which: an edge for every reference (host, process, client, imports,
 * supervisor children, `lifecycle.requires`). Start-up runs dependencies first, shutdown the
 * reverse.
 */
export class DependencyGraph {
  private readonly dependents = new Map<EntryId, EntryId[]>();

  private constructor(private readonly dependencies: ReadonlyMap<EntryId, readonly EntryId[]>) {
    for (const [from, targets] of dependencies) {
      for (const target of targets) {
        const list = this.dependents.get(target) ?? [];
        list.push(from);
        this.dependents.set(target, list);
      }
    }
  }

  static of(entries: Iterable<Pick<Entry, 'id' | 'references'>>): DependencyGraph {
    const dependencies = new Map<EntryId, EntryId[]>();
    for (const entry of entries) {
      dependencies.set(
        entry.id,
        [...new Set(entry.references.map((reference) => reference.target))].sort(),
      );
    }
    return new DependencyGraph(dependencies);
  }

  /** Entries `id` names directly. */
  dependenciesOf(id: EntryId): readonly EntryId[] {
    return this.dependencies.get(id) ?? [];
  }

  /** Entries that name `id` directly. */
  dependentsOf(id: EntryId): readonly EntryId[] {
    return [...(this.dependents.get(id) ?? [])].sort();
  }

  /** Everything `id` needs, directly or through other entries. */
  transitiveDependenciesOf(id: EntryId): ReadonlySet<EntryId> {
    const seen = new Set<EntryId>();
    const stack = [...this.dependenciesOf(id)];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...this.dependenciesOf(next));
    }
    return seen;
  }

  /**
   * `members` in start-up layers: each layer needs only entries of earlier layers (directly or
   * through entries outside `members`), so the entries of one layer can start in parallel.
   * Members caught in a cycle are left out; the registry rejects cycles before this is used.
   */
  layers(members: Iterable<EntryId>): EntryId[][] {
    const remaining = new Set(members);
    const needs = new Map<EntryId, Set<EntryId>>();
    for (const id of remaining) {
      needs.set(
        id,
        new Set(
          [...this.transitiveDependenciesOf(id)].filter((dep) => remaining.has(dep) && dep !== id),
        ),
      );
    }
    const layers: EntryId[][] = [];
    while (remaining.size > 0) {
      const ready = [...remaining].filter((id) =>
        [...(needs.get(id) ?? [])].every((dep) => !remaining.has(dep)),
      );
      if (ready.length === 0) break;
      ready.sort();
      for (const id of ready) remaining.delete(id);
      layers.push(ready);
    }
    return layers;
  }

  /** Every cycle, each as a path that starts and ends at its smallest ID (`[a, b, a]`). */
  cycles(): EntryId[][] {
    return stronglyConnected(this.dependencies)
      .filter(
        (component) =>
          component.length > 1 ||
          this.dependenciesOf(component[0] as EntryId).includes(component[0] as EntryId),
      )
      .map((component) => this.cycleThrough(new Set(component)))
      .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
  }

  private cycleThrough(component: ReadonlySet<EntryId>): EntryId[] {
    const start = [...component].sort()[0] as EntryId;
    const path: EntryId[] = [start];
    const visited = new Set<EntryId>();
    const search = (node: EntryId): boolean => {
      for (const next of this.dependenciesOf(node)) {
        if (!component.has(next)) continue;
        if (next === start) {
          path.push(start);
          return true;
        }
        if (visited.has(next)) continue;
        visited.add(next);
        path.push(next);
        if (search(next)) return true;
        path.pop();
      }
      return false;
    };
    search(start);
    return path;
  }
}

/** Tarjan's algorithm, iterative so deep graphs cannot overflow the stack. */
function stronglyConnected(edges: ReadonlyMap<EntryId, readonly EntryId[]>): EntryId[][] {
  const index = new Map<EntryId, number>();
  const low = new Map<EntryId, number>();
  const onStack = new Set<EntryId>();
  const stack: EntryId[] = [];
  const components: EntryId[][] = [];
  let counter = 0;
  for (const root of [...edges.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: EntryId; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: EntryId; next: number };
      const targets = edges.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next++] as EntryId;
        if (!edges.has(target)) continue;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(target) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: EntryId[] = [];
        let member: EntryId | undefined;
        do {
          member = stack.pop() as EntryId;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
