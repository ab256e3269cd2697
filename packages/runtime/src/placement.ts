import type { ClusterNode } from '@luact/nats';
import type { Placement } from '@luact/process';

/** How a cluster node places the children its processes spawn without naming a node. */
export type PlacementRule = 'local' | 'spread';

/**
 * `spread`: each spawn goes to the next member of the cluster's current view, in name order,
 * this node included (every member runs the same application, so each has the host).
 */
export class SpreadPlacement implements Placement {
  private next = 0;

  constructor(private readonly cluster: ClusterNode) {}

  nodeFor(): string | undefined {
    const members = Object.keys(this.cluster.view.members).sort();
    if (members.length === 0) return undefined;
    const node = members[this.next % members.length];
    this.next = (this.next + 1) % members.length;
    return node;
  }
}
