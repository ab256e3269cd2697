import type { Process } from './process.js';

/** Numbers a ring holds: a power of two. */
const RECENT = 4096;
const SLOT = RECENT - 1;

/**
 * The live processes of a node by the number in their PID (`Process.localId`, unique within the
 * node). The newest numbers sit in a ring, slot `localId % RECENT`: most processes are short,
 * and start and end there without a Map operation. A process still alive when a newer number
 * takes its slot moves to a Map, where the long-lived ones stay.
 */
export class LiveProcesses {
  private readonly ring: (Process | undefined)[] = new Array(RECENT).fill(undefined);
  private readonly older = new Map<number, Process>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(process: Process): void {
    const slot = process.localId & SLOT;
    const taken = this.ring[slot];
    if (taken !== undefined) this.older.set(taken.localId, taken);
    this.ring[slot] = process;
    this.count++;
  }

  get(localId: number): Process | undefined {
    const recent = this.ring[localId & SLOT];
    return recent !== undefined && recent.localId === localId ? recent : this.older.get(localId);
  }

  delete(process: Process): void {
    const slot = process.localId & SLOT;
    if (this.ring[slot] === process) this.ring[slot] = undefined;
    else if (!this.older.delete(process.localId)) return;
    this.count--;
  }

  /** Every live process, oldest (lowest number) first. */
  values(): Process[] {
    const all = [...this.older.values()];
    for (const process of this.ring) if (process !== undefined) all.push(process);
    return all.sort((a, b) => a.localId - b.localId);
  }
}
