import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsFailure } from '../nats-errors.js';
import { type Follower, follow } from './membership-follow.js';
import type { MembershipNames } from './membership-streams.js';

/** A beat as received: who, which boot, and when the server stored it. */
export interface ReceivedBeat {
  readonly node: string;
  readonly incarnation: number;
  /** Server time (ms since the epoch). */
  readonly at: number;
  /** True once the beats stored before following began have all been handed over. */
  readonly caughtUp: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Boots and beats in the nodes stream (last message per subject, removed after an hour idle). */
export class HeartbeatStream {
  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: MembershipNames,
  ) {}

  /**
   * Allocates an incarnation of `node`: the stream sequence of its boot record. Sequences are
   * never reused, so incarnations are unique in the cluster and grow with every boot.
   */
  async boot(node: string): Promise<number> {
    try {
      const ack = await this.js.publish(this.names.bootSubject(node), encoder.encode('{}'));
      return ack.seq;
    } catch (error) {
      throw natsFailure(this.connection, `boot node ${node}`, error);
    }
  }

  /** One beat; resolves once the server stored it. */
  async beat(node: string, incarnation: number): Promise<void> {
    const payload = encoder.encode(JSON.stringify({ incarnation }));
    try {
      await this.js.publish(this.names.beatSubject(node), payload);
    } catch (error) {
      throw natsFailure(this.connection, `beat of node ${node}`, error);
    }
  }

  /** Removes the last beat of `node`, so a node that left leaves nothing behind. */
  async forget(node: string): Promise<void> {
    try {
      await this.jsm.streams.purge(this.names.nodesStream, {
        filter: this.names.beatSubject(node),
      });
    } catch (error) {
      throw natsFailure(this.connection, `remove the beats of node ${node}`, error);
    }
  }

  /** Every node's last beat, then every new one. A beat that does not parse is skipped. */
  follow(
    onBeat: (beat: ReceivedBeat) => void,
    onError: (error: unknown) => void,
    retryMs: number,
  ): Follower {
    return follow({
      connection: this.connection,
      js: this.js,
      stream: this.names.nodesStream,
      filter: this.names.beatFilter,
      retryMs,
      onError,
      onMessage: (message: JsMsg) => {
        const incarnation = parseIncarnation(message.data);
        if (incarnation === undefined) {
          onError(
            new Error(
              `beat at ${this.names.nodesStream} sequence ${message.seq} has no incarnation`,
            ),
          );
          return;
        }
        onBeat({
          node: this.names.beatNode(message.subject),
          incarnation,
          at: Math.floor(message.info.timestampNanos / 1e6),
          caughtUp: message.info.pending === 0,
        });
      },
    });
  }
}

function parseIncarnation(data: Uint8Array): number | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    if (typeof value !== 'object' || value === null) return undefined;
    const incarnation = (value as { incarnation?: unknown }).incarnation;
    return Number.isSafeInteger(incarnation) ? (incarnation as number) : undefined;
  } catch {
    return undefined;
  }
}
