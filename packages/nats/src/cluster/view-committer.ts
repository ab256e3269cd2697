import { HeartbeatClock } from './heartbeat-clock.js';
import type { ReceivedBeat } from './heartbeat-stream.js';
import type { MemberViews } from './member-views.js';
import type { MembershipLog } from './membership-options.js';
import type { CommittedView } from './view.js';

/**
 * Who commits the next view, and when: from every member's beats (on the cluster clock),
 * members silent longer than `downAfterMs` are removed at once, partitions move for balance at
 * most one view per heartbeat. The lowest-named live member commits; the next one takes over
 * after two heartbeats, and so on by rank. The view stream's expected last sequence lets one
 * commit win each version.
 */

export interface ViewCommitterParams {
  readonly node: string;
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
  readonly own: MemberViews;
  /** The last committed view the member has read. */
  readonly current: () => CommittedView | undefined;
  /** The member may commit now (a member, not fenced). */
  readonly mayCommit: () => boolean;
  /** Where the member reports what it does (its node and incarnation added). */
  readonly log: MembershipLog;
}

export class ViewCommitter {
  readonly #params: ViewCommitterParams;
  readonly #clock: HeartbeatClock;
  /** All beats stored before following began were seen: down decisions may be taken. */
  #caughtUp = false;
  #committing = false;
  /** The change to the current view first seen as needed, on the running cluster clock. */
  #pending: { readonly version: number; readonly since: number } | undefined;

  constructor(params: ViewCommitterParams) {
    this.#params = params;
    const { heartbeatMs: h, downAfterMs: d } = params;
    this.#clock = new HeartbeatClock({ downAfterMs: d, stallMs: Math.floor((d - h) / 2) });
  }

  /** A beat read from the nodes stream. */
  observe(beat: ReceivedBeat): void {
    this.#clock.observe(beat.node, beat.incarnation, beat.at);
    if (beat.caughtUp) this.#caughtUp = true;
    this.evaluate();
  }

  /** Commits the next view if this member is the one to, now. */
  evaluate(): void {
    const { node, heartbeatMs, own, mayCommit, log } = this.#params;
    const current = this.#params.current();
    if (!mayCommit() || !this.#caughtUp || this.#committing) return;
    const running = this.#clock.running;
    const now = this.#clock.now;
    if (current === undefined || running === undefined || now === undefined) return;
    const { view } = current;
    const incarnations = new Map(
      Object.entries(view.members).map(([name, member]) => [name, member.incarnation] as const),
    );
    const down = this.#clock.down(incarnations).filter((name) => name !== node);
    const proposal = own.propose(view, {
      remove: down.map((name) => ({ node: name, kind: 'down' as const })),
    });
    if (proposal === undefined) {
      this.#pending = undefined;
      return;
    }
    if (down.length === 0 && now - current.committedAt < heartbeatMs) return;
    const live = [...incarnations.keys()].filter((name) => !down.includes(name)).sort();
    const rank = Math.max(0, live.indexOf(node));
    if (this.#pending?.version !== view.version) {
      this.#pending = { version: view.version, since: running };
    }
    if (running - this.#pending.since < rank * 2 * heartbeatMs) return;
    this.#committing = true;
    own
      .commit(proposal, current)
      .then((result) => {
        if (!result.committed) return;
        log('info', 'committed a view', {
          version: proposal.version,
          down,
          changes: proposal.changes,
        });
      })
      .catch((error) => log('warn', 'could not commit a view', { error: String(error) }))
      .finally(() => {
        this.#committing = false;
      });
  }
}
