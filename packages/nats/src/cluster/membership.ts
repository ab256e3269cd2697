import { performance } from 'node:perf_hooks';
import { LuactError } from '@luact/core';
import { HeartbeatSender } from './heartbeat-sender.js';
import type { HeartbeatStream } from './heartbeat-stream.js';
import { MemberViews } from './member-views.js';
import { bootMember } from './membership-boot.js';
import type { Follower } from './membership-follow.js';
import {
  type FenceListener,
  MembershipListeners,
  type ViewListener,
} from './membership-listeners.js';
import {
  type MembershipLog,
  type MembershipLogLevel,
  type MembershipOptions,
  type MembershipSettings,
  membershipSettings,
} from './membership-options.js';
import { RETRY_PAUSE_MS, retryUntilDone } from './membership-retry.js';
import { SelfFence } from './self-fence.js';
import { type CommittedView, hasMember, type View } from './view.js';
import { ViewCommitter } from './view-committer.js';
import type { ViewLog } from './view-log.js';

/**
 * Where this member stands. `member`: in the committed view (possibly fenced); `leaving`:
 * committing a view without itself; `left`: done; `expelled`: a committed view no longer holds
 * this incarnation; `closed`: its connection closed for good.
 */
export type MembershipState = 'joining' | 'member' | 'leaving' | 'left' | 'expelled' | 'closed';

export type { FenceListener, ViewListener };

/** How long leaving may take: longer than a few beats, far shorter than a join. */
const LEAVE_TIMEOUT_MS = 5_000;

/**
 * This node's membership of the cluster: its incarnation, its beats, the committed views in
 * order, and its self-fence. Every member watches every beat; the lowest-named live member
 * commits the next view when a member is down or partitions need to move, the others only if it
 * has not within two heartbeats per rank. Joining and leaving commit a view the same way. All
 * views are written with the view stream's expected last sequence, so exactly one wins each
 * version, and members act only on views they read back from the stream.
 *
 * This class is the member's lifecycle (joining, member, leaving, left, expelled, closed) and
 * follows the two streams; its parts live next to it: the boot (membership-boot.ts), its beats
 * (heartbeat-sender.ts), the self-fence (self-fence.ts), the commit loop (view-committer.ts)
 * and the views it writes about itself (member-views.ts).
 */
export class Membership {
  readonly node: string;
  /** This boot of the node: unique in the cluster, greater than any earlier boot's. */
  readonly incarnation: number;

  readonly #settings: MembershipSettings;
  /** The views this member writes. */
  readonly #own: MemberViews;
  readonly #heartbeats: HeartbeatStream;
  readonly #sender: HeartbeatSender;
  readonly #fence: SelfFence;
  readonly #views: ViewLog;
  readonly #committer: ViewCommitter;
  #state: MembershipState = 'joining';
  #current: CommittedView | undefined;
  #joined: (() => void) | undefined;

  #followers: Follower[] = [];
  #halted: Promise<void> | undefined;

  readonly #listeners = new MembershipListeners((error) =>
    this.#log('error', 'a membership listener threw', { error: String(error) }),
  );

  /**
   * Joins the cluster as a new incarnation of `options.node`: creates the membership streams if
   * needed, starts beating, and resolves once a committed view holds this member. A view still
   * holding an older incarnation of the node is replaced (that incarnation counts as down).
   */
  static async join(options: MembershipOptions): Promise<Membership> {
    const settings = membershipSettings(options);
    const { incarnation, heartbeats, views } = await bootMember(settings);
    const member = new Membership(settings, incarnation, heartbeats, views);
    try {
      await member.#enter();
    } catch (error) {
      member.#state = 'closed';
      await member.#halt();
      throw error;
    }
    return member;
  }

  private constructor(
    settings: MembershipSettings,
    incarnation: number,
    heartbeats: HeartbeatStream,
    views: ViewLog,
  ) {
    this.node = settings.node;
    this.incarnation = incarnation;
    this.#settings = settings;
    const log: MembershipLog = (level, message, fields) => this.#log(level, message, fields);
    this.#own = new MemberViews({
      views,
      node: this.node,
      incarnation,
      queues: settings.queues,
      liveness: { heartbeatMs: settings.heartbeatMs, downAfterMs: settings.downAfterMs },
      settings: {
        partitions: settings.partitions,
        minMembers: settings.minMembers,
        maxMovesPerView: settings.maxMovesPerView,
      },
      log,
    });
    this.#heartbeats = heartbeats;
    this.#sender = new HeartbeatSender({
      heartbeats,
      node: this.node,
      incarnation,
      heartbeatMs: settings.heartbeatMs,
      fenceAfterMs: settings.fenceAfterMs,
      active: () =>
        this.#state === 'member' || this.#state === 'joining' || this.#state === 'leaving',
      onAck: () => this.#fence.afterAck(),
      onError: (error) => this.#log('debug', 'beat not acknowledged', { error: String(error) }),
    });
    this.#fence = new SelfFence({
      node: this.node,
      incarnation,
      heartbeatMs: settings.heartbeatMs,
      fenceAfterMs: settings.fenceAfterMs,
      sender: this.#sender,
      views,
      listeners: this.#listeners,
      isMember: () => this.#state === 'member',
      current: () => this.#current,
      expel: (reason) => this.#expel(reason),
      log,
    });
    this.#views = views;
    this.#committer = new ViewCommitter({
      node: this.node,
      heartbeatMs: settings.heartbeatMs,
      downAfterMs: settings.downAfterMs,
      own: this.#own,
      current: () => this.#current,
      mayCommit: () => this.#state === 'member' && !this.fenced,
      log,
    });
  }

  get state(): MembershipState {
    return this.#state;
  }

  /** The last committed view this member has read. */
  get view(): View {
    return (this.#current as CommittedView).view;
  }

  /** Server time (ms since the epoch) the current view was stored. */
  get viewCommittedAt(): number {
    return (this.#current as CommittedView).committedAt;
  }

  /**
   * Whether this node must not write (journals, acks): its last acknowledged beat was sent more
   * than `fenceAfterMs` ago, it was fenced and has not yet confirmed it is still a member, or it
   * is no longer a member. Computed when read, so a stalled event loop cannot miss it.
   */
  get fenced(): boolean {
    return this.#state !== 'member' || this.#fence.reported || this.#sender.stale;
  }

  /** Calls `listener` with every committed view after the current one, in order, once each. */
  onView(listener: ViewListener): () => void {
    return this.#listeners.onView(listener);
  }

  /** Calls `listener(true)` when this member fences itself, `listener(false)` when it may write again. */
  onFence(listener: FenceListener): () => void {
    return this.#listeners.onFence(listener);
  }

  /**
   * Calls `listener` once if a committed view no longer holds this incarnation: the node must
   * drop its processes and join again (a new incarnation).
   */
  onExpelled(listener: () => void): () => void {
    return this.#listeners.onExpelled(listener);
  }

  /**
   * Leaves gracefully: commits a view without this member, stops beating and removes its beat.
   * Rejects UNAVAILABLE if no view could be committed within `joinTimeoutMs` (membership stops
   * anyway; the others will declare the node down).
   */
  async leave(): Promise<void> {
    if (this.#state !== 'member') {
      await this.#halt(); // expelled, closed or left already: there is nothing to commit
      return;
    }
    this.#state = 'leaving';
    let failure: unknown;
    try {
      // Bounded shorter than a join: a node that cannot reach NATS to leave is declared down
      // by the others soon anyway, and its shutdown must not wait for NATS.
      const leaveTimeoutMs = Math.min(this.#settings.joinTimeoutMs, LEAVE_TIMEOUT_MS);
      await retryUntilDone({
        node: this.node,
        connection: this.#settings.connection,
        action: 'leave the cluster',
        timeoutMs: leaveTimeoutMs,
        attempt: () => this.#own.leaveOnce(),
      });
    } catch (error) {
      failure = error;
    }
    this.#sender.stop();
    await this.#sender.settled();
    if (failure === undefined) {
      await this.#heartbeats.forget(this.node).catch((error) => {
        this.#log('warn', 'could not remove the last beat', { error: String(error) });
      });
    }
    await this.#halt();
    this.#state = 'left';
    if (failure !== undefined) throw failure;
  }

  async #enter(): Promise<void> {
    await this.#sender.start();
    const joined = new Promise<void>((resolve) => {
      this.#joined = resolve;
    });
    this.#followers.push(
      this.#heartbeats.follow(
        (beat) => this.#committer.observe(beat),
        (error) =>
          this.#log('debug', 'following beats failed, following again', { error: String(error) }),
        RETRY_PAUSE_MS,
      ),
      this.#views.follow(
        (view) => this.#onCommitted(view),
        (error) =>
          this.#log('warn', 'following views failed, following again', { error: String(error) }),
        RETRY_PAUSE_MS,
      ),
    );
    void this.#settings.connection.closed().then(() => this.#onConnectionClosed());

    const deadline = performance.now() + this.#settings.joinTimeoutMs;
    await retryUntilDone({
      node: this.node,
      connection: this.#settings.connection,
      action: 'join the cluster',
      timeoutMs: this.#settings.joinTimeoutMs,
      attempt: () => this.#own.joinOnce(),
    });
    const left = deadline - performance.now();
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, Math.max(0, left), 'timeout').unref(),
    );
    if ((await Promise.race([joined, timer])) === 'timeout') {
      throw new LuactError(
        'UNAVAILABLE',
        `node ${this.node} committed its join but did not read the view back within ${this.#settings.joinTimeoutMs} ms`,
        { details: { node: this.node } },
      );
    }
    this.#fence.start();
  }

  #onCommitted(committed: CommittedView): void {
    const previous = this.#current;
    if (previous !== undefined && committed.view.version <= previous.view.version) return;
    this.#current = committed;
    const inView = hasMember(committed.view, this.node, this.incarnation);
    if (this.#state === 'joining') {
      if (inView) {
        this.#state = 'member';
        this.#joined?.();
      }
      return;
    }
    if (this.#state !== 'member' && this.#state !== 'leaving') return;
    if (previous !== undefined) {
      if (committed.view.version !== previous.view.version + 1) {
        this.#log('warn', 'views were skipped: older ones are no longer in the view stream', {
          from: previous.view.version,
          to: committed.view.version,
        });
      }
      this.#listeners.view(committed.view, previous.view);
    }
    if (this.#state !== 'member') return;
    if (!inView) {
      this.#expel(`view ${committed.view.version} no longer holds it`);
      return;
    }
    this.#fence.maybeUnfence();
    this.#committer.evaluate();
  }

  #expel(reason: string): void {
    if (this.#state === 'expelled') return;
    this.#state = 'expelled';
    this.#log('warn', `expelled: ${reason}; join again as a new incarnation`, {});
    this.#fence.fenceForGood();
    this.#listeners.expelled();
    void this.#halt();
  }

  #onConnectionClosed(): void {
    if (this.#state === 'left' || this.#state === 'expelled' || this.#state === 'closed') return;
    const wasMember = this.#state === 'member';
    this.#state = 'closed';
    if (wasMember) this.#fence.fenceForGood();
    void this.#halt();
  }

  /** Stops beating and following; idempotent. */
  #halt(): Promise<void> {
    this.#halted ??= (async () => {
      this.#sender.stop();
      this.#fence.stop();
      await Promise.allSettled(this.#followers.map((follower) => follower.stop()));
    })();
    return this.#halted;
  }

  #log(
    level: MembershipLogLevel,
    message: string,
    fields: Readonly<Record<string, unknown>>,
  ): void {
    this.#settings.log(level, message, {
      node: this.node,
      incarnation: this.incarnation,
      ...fields,
    });
  }
}
