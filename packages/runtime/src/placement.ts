import type { Placement } from '@luact/process';

/** How a cluster node places the children its processes spawn without naming a node. */
export type PlacementRule = 'local' | 'spread';

/**
 * `spread`: each spawn goes to the next member of the cluster's current view, in name order,
 * this node included (every member runs the same application, so each has the host).
 */
export class SpreadPlacement implements Placement {
  private next = 0;

  /** `members`: the members of the cluster's current view (of the main thread's, on a worker). */
  constructor(private readonly members: () => readonly string[]) {}

  nodeFor(): string | undefined {
    const members = [...this.members()].sort();
    if (members.length === 0) return undefined;
    const node = members[this.next % members.length];
    this.next = (this.next + 1) % members.length;
    return node;
  }
}
