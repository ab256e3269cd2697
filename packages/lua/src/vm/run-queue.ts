import type { Fiber } from './fiber.js';

/** FIFO of ready fibers as a growable ring buffer (no shifting, no per-item allocation). */
export class RunQueue {
  private items: (Fiber | undefined)[] = new Array(64);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(fiber: Fiber): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = fiber;
    this.count++;
  }

  shift(): Fiber | undefined {
    if (this.count === 0) return undefined;
    const fiber = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return fiber;
  }

  private grow(): void {
    const next: (Fiber | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++)
      next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
