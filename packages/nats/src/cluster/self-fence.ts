import type { HeartbeatSender } from './heartbeat-sender.js';
import type { MembershipListeners } from './membership-listeners.js';
import type { MembershipLog } from './membership-options.js';
import { type CommittedView, hasMember } from './view.js';
import type { ViewLog } from './view-log.js';

/**
 * A member's self-fence: reported once no beat sent within `fenceAfterMs` was acknowledged
 * (checked on a timer), lifted only once beats are acknowledged again, the stream leader's view
 * still holds this incarnation, and the views read in order have reached that one. A view that
 * no longer holds it expels the member instead.
 */

export interface SelfFenceParams {
  readonly node: string;
  readonly incarnation: number;
  readonly heartbeatMs: number;
  readonly fenceAfterMs: number;
  readonly sender: HeartbeatSender;
  readonly views: ViewLog;
  readonly listeners: MembershipListeners;
  /** The member is in the committed view (not joining, leaving or gone). */
  readonly isMember: () => boolean;
  /** The last committed view the member has read. */
  readonly current: () => CommittedView | undefined;
  readonly expel: (reason: string) => void;
  /** Where the member reports what it does (its node and incarnation added). */
  readonly log: MembershipLog;
}

export class SelfFence {
  readonly #params: SelfFenceParams;
  #reported = false;
  /** Fenced, and waiting to have read views up to this version before reporting unfenced. */
  #unfenceAt: number | undefined;
  #verifying = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(params: SelfFenceParams) {
    this.#params = params;
  }

  /** Fenced and not yet lifted. */
  get reported(): boolean {
    return this.#reported;
  }

  /** Checks for stale beats from now on, often enough to fence soon after `fenceAfterMs`. */
  start(): void {
    const { fenceAfterMs, heartbeatMs } = this.#params;
    this.#timer = setInterval(
      () => this.#check(),
      Math.max(10, Math.min(heartbeatMs, fenceAfterMs) / 4),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reports fenced for good (expelled, connection closed), unless it is reported already. */
  fenceForGood(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#params.listeners.fence(true);
  }

  /** Beats are acknowledged again: if fenced, ask the stream leader whether this is still a member. */
  afterAck(): void {
    const { node, incarnation, sender, views, isMember, expel, log } = this.#params;
    if (!isMember() || !this.#reported || this.#verifying || sender.stale) return;
    this.#verifying = true;
    views
      .latest()
      .then((latest) => {
        if (!isMember() || !this.#reported) return;
        if (latest === undefined || !hasMember(latest.view, node, incarnation)) {
          expel(`view ${latest?.view.version ?? 0} no longer holds it`);
          return;
        }
        this.#unfenceAt = latest.view.version;
        this.maybeUnfence();
      })
      .catch((error) =>
        log('debug', 'could not read the view to lift the fence', { error: String(error) }),
      )
      .finally(() => {
        this.#verifying = false;
      });
  }

  /** Unfenced once the views read in order reached the one that showed this still a member. */
  maybeUnfence(): void {
    const { node, incarnation, sender, listeners, log } = this.#params;
    const current = this.#params.current();
    if (!this.#reported || this.#unfenceAt === undefined || current === undefined) return;
    if (current.view.version < this.#unfenceAt || sender.stale) return;
    if (!hasMember(current.view, node, incarnation)) return;
    this.#reported = false;
    this.#unfenceAt = undefined;
    log('info', 'unfenced: beats acknowledged and still a member', {
      version: current.view.version,
    });
    listeners.fence(false);
  }

  #check(): void {
    const { sender, isMember, listeners, log, fenceAfterMs } = this.#params;
    if (!isMember() || this.#reported || !sender.stale) return;
    this.#reported = true;
    this.#unfenceAt = undefined;
    log('warn', 'fenced: no beat acknowledged in time', { fenceAfterMs });
    listeners.fence(true);
  }
}
