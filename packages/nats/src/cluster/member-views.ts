import { LuactError } from '@luact/core';
import type { MembershipLog } from './membership-options.js';
import {
  type CommittedView,
  hasMember,
  type MemberLiveness,
  proposeView,
  type View,
  type ViewEdits,
  type ViewSettings,
} from './view.js';
import type { CommitResult, ViewLog } from './view-log.js';

/**
 * The views one member writes: its join (a view holding its incarnation), its leave (a view
 * without it), and any successor it commits for the cluster, each under a message ID of writer
 * and version, so a repeat of one commit is deduplicated and never another member's.
 */

export interface MemberViewsParams {
  readonly views: ViewLog;
  readonly node: string;
  readonly incarnation: number;
  /** The workflow queues this node serves. */
  readonly queues: readonly string[];
  /** Its liveness timing: the same as every other member's, or it cannot join. */
  readonly liveness: MemberLiveness;
  readonly settings: ViewSettings;
  /** Where the member reports what it does (its node and incarnation added). */
  readonly log: MembershipLog;
}

export class MemberViews {
  readonly #params: MemberViewsParams;

  constructor(params: MemberViewsParams) {
    this.#params = params;
  }

  /**
   * One try at a view holding this member: true once the latest view holds it (committed now
   * or before), false when another commit won the race. Refuses a cluster it cannot join.
   */
  async joinOnce(): Promise<boolean> {
    const { views, node, incarnation, queues, liveness, log } = this.#params;
    const latest = await views.latest();
    if (latest !== undefined) {
      this.#checkJoinable(latest);
      if (hasMember(latest.view, node, incarnation)) return true;
    }
    const proposal = this.propose(latest?.view, {
      join: { node, member: { incarnation, queues, liveness } },
    }) as View;
    const result = await this.commit(proposal, latest);
    if (result.committed)
      log('info', 'joined the cluster', { version: proposal.version, incarnation });
    return result.committed;
  }

  /** One try at a view without this member: true once the latest view no longer holds it. */
  async leaveOnce(): Promise<boolean> {
    const { views, node, incarnation, log } = this.#params;
    const latest = await views.latest();
    if (latest === undefined || !hasMember(latest.view, node, incarnation)) return true;
    const proposal = this.propose(latest.view, { remove: [{ node, kind: 'left' }] }) as View;
    const result = await this.commit(proposal, latest);
    if (result.committed) log('info', 'left the cluster', { version: proposal.version });
    return result.committed;
  }

  /** The view after `view` with `edits` (undefined: nothing changes). */
  propose(view: View | undefined, edits: ViewEdits): View | undefined {
    return proposeView(view, edits, this.#params.settings);
  }

  /** Commits `proposal` as the successor of `after`, as this member. */
  commit(proposal: View, after: CommittedView | undefined): Promise<CommitResult> {
    const { views, node, incarnation } = this.#params;
    // Unique per writer and version: a repeat of this commit is deduplicated, nobody else's.
    return views.commit(proposal, after, `${node}.${incarnation}.v${proposal.version}`);
  }

  /**
   * A view this node can join: same partition count, the same liveness timing as every other
   * member (one that beats slower than the others wait would be declared down again and again,
   * one that waits less would declare them down), and no newer incarnation of it.
   */
  #checkJoinable({ view }: CommittedView): void {
    const { node, incarnation, settings, liveness } = this.#params;
    if (view.partitions !== settings.partitions) {
      throw new LuactError(
        'INVALID',
        `Membership.join: partitions is ${settings.partitions}, but the cluster's view ${view.version} has ${view.partitions} partitions per queue (fixed when the cluster began)`,
        { details: { option: 'partitions', cluster: view.partitions } },
      );
    }
    for (const [other, member] of Object.entries(view.members)) {
      const theirs = member.liveness;
      if (other === node || theirs === undefined) continue;
      if (
        theirs.heartbeatMs === liveness.heartbeatMs &&
        theirs.downAfterMs === liveness.downAfterMs
      )
        continue;
      throw new LuactError(
        'INVALID',
        `node ${node} cannot join: its cluster's member ${other} beats every ${theirs.heartbeatMs} ms and declares a node down after ${theirs.downAfterMs} ms without a beat, this node ${liveness.heartbeatMs} and ${liveness.downAfterMs} ms; every node of a cluster must run with the same (luact run --down-after)`,
        {
          retryable: false,
          details: { option: 'downAfterMs', member: other, cluster: theirs, node: liveness },
        },
      );
    }
    const previous = view.members[node];
    if (previous !== undefined && previous.incarnation > incarnation) {
      throw new LuactError(
        'INTERNAL',
        `node ${node} booted as incarnation ${incarnation}, below ${previous.incarnation} in view ${view.version}: was the nodes stream removed while the view stream was kept?`,
        { retryable: false, details: { node } },
      );
    }
  }
}
