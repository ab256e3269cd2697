import type { EntryId } from '@luact/core';

/**
 * Host or entry references as processes of a namespace wrote them, resolved to entry IDs. Kept
 * for good (a reference resolves by its text alone), and the last one answered is checked
 * first: a spawn resolves its host and its entry, and spawns in a loop name the same ones.
 */
export class ResolvedReferences {
  private readonly byNamespace = new Map<string, Map<string, EntryId>>();
  private lastReference: string | undefined;
  private lastNamespace: string | undefined;
  private lastId: EntryId | undefined;

  get(reference: string, namespace: string | undefined): EntryId | undefined {
    if (reference === this.lastReference && namespace === this.lastNamespace) return this.lastId;
    const id = this.byNamespace.get(namespace ?? '')?.get(reference);
    if (id !== undefined) this.remember(reference, namespace, id);
    return id;
  }

  /** References kept, in all namespaces. */
  get size(): number {
    let size = 0;
    for (const inNamespace of this.byNamespace.values()) size += inNamespace.size;
    return size;
  }

  set(reference: string, namespace: string | undefined, id: EntryId): void {
    let inNamespace = this.byNamespace.get(namespace ?? '');
    if (inNamespace === undefined) {
      inNamespace = new Map();
      this.byNamespace.set(namespace ?? '', inNamespace);
    }
    inNamespace.set(reference, id);
    this.remember(reference, namespace, id);
  }

  private remember(reference: string, namespace: string | undefined, id: EntryId): void {
    this.lastReference = reference;
    this.lastNamespace = namespace;
    this.lastId = id;
  }
}
