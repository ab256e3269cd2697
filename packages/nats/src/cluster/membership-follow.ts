import { setTimeout as sleep } from 'node:timers/promises';
import { LuactError } from '@luact/core';
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

/**
 * The consumer's server sends a heartbeat this often while nothing else comes; two missed in a
 * row end the consumer (see `follow`). The client's own default is 15 s.
 */
export const FOLLOW_HEARTBEAT_MS = 1_000;

export interface Follower {
  /** Stops following; resolves once no more messages will be handed over. */
  stop(): Promise<void>;
}

/**
 * Follows the subjects `filter` matches with an ordered consumer, for as long as asked: the
 * client resets an ordered consumer on a gap by itself, and should the consumer fail outright
 * (NATS down while it is created, say) or go silent, it is created again from the sequence
 * after the last message handed over. Stops by itself when the connection closes.
 *
 * Silence matters because an ordered consumer is R1 and may live on a server other than the
 * client's: when that server dies the connection stays up, and the client alone would only ask
 * the dead consumer for its state again and again until the server is back, handing over
 * nothing meanwhile. Two missed heartbeats end it here instead, and the new consumer is placed
 * on a server that is up.
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
        const current = await consumer.consume({
          max_messages: 256,
          idle_heartbeat: FOLLOW_HEARTBEAT_MS,
        });
        messages = current;
        if (stopped) break;
        let silent = false;
        void closeWhenSilent(current, () => {
          silent = true;
        });
        for await (const message of current) {
          if (stopped || silent) break;
          next = message.seq + 1;
          onMessage(message);
        }
        if (silent && !stopped) {
          onError(
            new LuactError(
              'UNAVAILABLE',
              `following ${stream} (${filter}): the consumer's server sent no heartbeat for ${2 * FOLLOW_HEARTBEAT_MS} ms; following again on a new consumer`,
            ),
          );
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

/** Closes `messages` at the client's first report of missed heartbeats; `onSilent` first. */
async function closeWhenSilent(messages: ConsumerMessages, onSilent: () => void): Promise<void> {
  for await (const status of messages.status()) {
    if (status.type === 'heartbeats_missed') {
      onSilent();
      await messages.close().catch(() => undefined);
      return;
    }
  }
}
