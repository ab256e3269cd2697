/**
 * A set that keeps its `limit` newest values and forgets the oldest: for what a node learns
 * without end (PIDs that ended elsewhere, origins of messages taken) and may forget safely.
 */
export class BoundedSet<T> {
  private readonly values = new Set<T>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.values.size;
  }

  has(value: T): boolean {
    return this.values.has(value);
  }

  /** Adds `value`; false when it was there already. */
  add(value: T): boolean {
    if (this.values.has(value)) return false;
    this.values.add(value);
    if (this.values.size > this.limit) this.values.delete(this.values.values().next().value as T);
    return true;
  }
}
