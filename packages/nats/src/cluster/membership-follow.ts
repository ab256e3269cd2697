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

/** The consumer's server sends a heartbeat this often while nothing else comes (client: 15 s). */
export const FOLLOW_HEARTBEAT_MS = 1_000;
/** No message and no heartbeat for this long ends the consumer (see `follow`). */
const SILENCE_MS = 3 * FOLLOW_HEARTBEAT_MS;

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
 * client's: when that server dies the client alone hands over nothing until it is back. With
 * the connection up, it only asks the dead consumer for its state again and again; after a
 * reconnect (the connection's server died too) likewise, and it keeps its own heartbeat check
 * off until the consumer answers. So silence is timed here: SILENCE_MS without a message or a
 * heartbeat ends the consumer, and the new one is placed on a server that is up.
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
        const silence = watchSilence(current, () => {
          silent = true;
        });
        try {
          for await (const message of current) {
            if (stopped || silent) break;
            silence.heard();
            next = message.seq + 1;
            onMessage(message);
          }
        } finally {
          silence.stop();
        }
        if (silent && !stopped) {
          onError(
            new LuactError(
              'UNAVAILABLE',
              `following ${stream} (${filter}): no message and no heartbeat from the consumer for ${SILENCE_MS} ms; following again on a new consumer`,
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

/**
 * Closes `messages` once neither a message (`heard()`) nor a heartbeat came for SILENCE_MS,
 * calling `onSilent` first. `stop()` ends the watch.
 */
function watchSilence(
  messages: ConsumerMessages,
  onSilent: () => void,
): { heard(): void; stop(): void } {
  let last = performance.now();
  const heard = () => {
    last = performance.now();
  };
  const timer = setInterval(() => {
    if (performance.now() - last <= SILENCE_MS) return;
    clearInterval(timer);
    onSilent();
    void messages.close().catch(() => undefined);
  }, FOLLOW_HEARTBEAT_MS);
  void (async () => {
    for await (const status of messages.status()) if (status.type === 'heartbeat') heard();
  })();
  return { heard, stop: () => clearInterval(timer) };
}
