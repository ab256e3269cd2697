import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface FollowParams {
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  readonly stream: string;
  /** One subject filter (wildcards allowed: nats-server 2.9 takes one filter per consumer). */
  readonly filter: string;
  /**
   * Called for each message in stream order: first the last one of each subject (or, with
   * `history`, every stored one), then new ones.
   */
  readonly onMessage: (message: JsMsg) => void;
  /** Start from every stored message instead of the last one of each subject. */
  readonly history?: boolean;
  readonly onError: (error: unknown) => void;
  /** Pause before following again after the consumer failed. */
  readonly retryMs: number;
}

export interface Follower {
  /** Stops following; resolves once no more messages will be handed over. */
  stop(): Promise<void>;
}

/**
 * Follows the subjects `filter` matches with an ordered consumer, for as long as asked: the
 * client resets an ordered consumer on a gap or a missed heartbeat by itself, and should the
 * consumer fail outright (NATS down while it is created, say), it is created again from the
 * sequence after the last message handed over. Stops by itself when the connection closes.
 */
export function follow(params: FollowParams): Follower {
  const { connection, js, stream, filter, onMessage, onError, retryMs } = params;
  let stopped = false;
  let next: number | undefined;
  let messages: ConsumerMessages | undefined;
  const running = (async () => {
    while (!stopped && !connection.isClosed()) {
      try {
        const consumer = await js.consumers.get(stream, {
          filter_subjects: filter,
          ...(next === undefined
            ? { deliver_policy: params.history ? DeliverPolicy.All : DeliverPolicy.LastPerSubject }
            : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next }),
        });
        if (stopped) break;
        messages = await consumer.consume({ max_messages: 256 });
        if (stopped) break;
        for await (const message of messages) {
          if (stopped) break;
          next = message.seq + 1;
          onMessage(message);
        }
      } catch (error) {
        if (!stopped && !connection.isClosed()) onError(error);
      }
      if (!stopped) await sleep(retryMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await messages?.close().catch(() => undefined);
      await running;
    },
  };
}
