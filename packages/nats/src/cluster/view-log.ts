import type {
  JetStreamClient,
  JetStreamManager,
  JetStreamPublishOptions,
  JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isWrongLastSequence, natsFailure } from '../nats-errors.js';
import { type Follower, follow } from './membership-follow.js';
import type { MembershipNames } from './membership-streams.js';
import type { CommittedView, View } from './view.js';
import { decodeView, encodeView } from './view-record.js';

export type CommitResult =
  | { readonly committed: true; readonly seq: number }
  /** Another view was committed after the one this commit expected: read again, decide again. */
  | { readonly committed: false };

/**
 * The view stream: one subject, one record per view, so the stream's last sequence is the last
 * view's. A commit expects that sequence with `Nats-Expected-Last-Sequence`, which JetStream
 * checks when it applies the write, also on a replicated stream (unlike the per-subject
 * expectation on nats-server 2.9.10): of two members committing the next view, one wins.
 */
export class ViewLog {
  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: MembershipNames,
  ) {}

  /** The last committed view, read from the stream leader (a replica may be behind). */
  async latest(): Promise<CommittedView | undefined> {
    const { viewStream, viewSubject } = this.names;
    let stored: Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>;
    try {
      stored = await this.jsm.streams.getMessage(viewStream, { last_by_subj: viewSubject });
    } catch (error) {
      throw natsFailure(this.connection, `read the membership view from ${viewStream}`, error);
    }
    if (stored === null) return undefined;
    return {
      view: decodeView(stored.data, `${viewStream} sequence ${stored.seq}`),
      seq: stored.seq,
      committedAt: stored.time.getTime(),
    };
  }

  /**
   * Commits `view` as the successor of `after` (undefined: the first view). `msgID` must be
   * unique per writer and version, so a repeat of this very commit is recognised, never another
   * member's.
   */
  async commit(view: View, after: CommittedView | undefined, msgID: string): Promise<CommitResult> {
    const options: Partial<JetStreamPublishOptions> =
      after === undefined
        ? // A stream-level expectation of 0 is not checked by the server; "no message on this
          // subject yet" is, at apply time.
          { msgID, expect: { lastSubjectSequence: 0 } }
        : { msgID, expect: { lastSequence: after.seq } };
    try {
      const ack = await this.js.publish(this.names.viewSubject, encodeView(view), options);
      return { committed: true, seq: ack.seq };
    } catch (error) {
      if (isWrongLastSequence(error)) return { committed: false };
      throw natsFailure(this.connection, `commit membership view ${view.version}`, error);
    }
  }

  /** Every committed view from the current one on, in order. */
  follow(
    onView: (view: CommittedView) => void,
    onError: (error: unknown) => void,
    retryMs: number,
  ): Follower {
    const { viewStream } = this.names;
    return follow({
      connection: this.connection,
      js: this.js,
      stream: viewStream,
      filter: this.names.viewSubject,
      retryMs,
      onError,
      onMessage: (message: JsMsg) => {
        try {
          onView({
            view: decodeView(message.data, `${viewStream} sequence ${message.seq}`),
            seq: message.seq,
            committedAt: Math.floor(message.info.timestampNanos / 1e6),
          });
        } catch (error) {
          onError(error);
        }
      },
    });
  }
}
