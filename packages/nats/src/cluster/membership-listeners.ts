import type { View } from './view.js';

/**
 * Who hears what a membership reports: committed views, fence changes, expulsion. A listener
 * that throws is logged and the others still hear.
 */

export type ViewListener = (view: View, previous: View) => void;
export type FenceListener = (fenced: boolean) => void;

export class MembershipListeners {
  readonly #views = new Set<ViewListener>();
  readonly #fences = new Set<FenceListener>();
  readonly #expelled = new Set<() => void>();

  /** `threw(error)`: a listener threw `error`. */
  constructor(private readonly threw: (error: unknown) => void) {}

  onView(listener: ViewListener): () => void {
    this.#views.add(listener);
    return () => this.#views.delete(listener);
  }

  onFence(listener: FenceListener): () => void {
    this.#fences.add(listener);
    return () => this.#fences.delete(listener);
  }

  onExpelled(listener: () => void): () => void {
    this.#expelled.add(listener);
    return () => this.#expelled.delete(listener);
  }

  view(view: View, previous: View): void {
    for (const listener of this.#views) this.#call(() => listener(view, previous));
  }

  fence(fenced: boolean): void {
    for (const listener of this.#fences) this.#call(() => listener(fenced));
  }

  expelled(): void {
    for (const listener of this.#expelled) this.#call(() => listener());
  }

  #call(listener: () => void): void {
    try {
      listener();
    } catch (error) {
      this.threw(error);
    }
  }
}
