import { performance } from 'node:perf_hooks';
import type { HeartbeatStream } from './heartbeat-stream.js';

/**
 * This member's own beats: one every `heartbeatMs` while the member is active, a bounded
 * number in flight, and when the last acknowledged one was sent (local monotonic time), which
 * is what tells the member whether its beats are stale.
 */

/** Beats in flight at once, at most: more would only pile up while NATS does not answer. */
const MAX_BEATS_IN_FLIGHT = 4;

export interface HeartbeatSenderParams {
  readonly heartbeats: HeartbeatStream;
  readonly node: string;
  readonly incarnation: number;
  readonly heartbeatMs: number;
  /** Beats are stale once the last acknowledged one was sent longer ago than this. */
  readonly fenceAfterMs: number;
  /** Whether to beat now (a timer tick is skipped when not). */
  readonly active: () => boolean;
  /** Called after each acknowledged beat. */
  readonly onAck: () => void;
  readonly onError: (error: unknown) => void;
}

export class HeartbeatSender {
  readonly #params: HeartbeatSenderParams;
  /** Local monotonic time the last acknowledged beat was sent. */
  #lastAckedSentAt = Number.NEGATIVE_INFINITY;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(params: HeartbeatSenderParams) {
    this.#params = params;
  }

  /** Sends the first beat, resolves once it is acknowledged, then beats every `heartbeatMs`. */
  async start(): Promise<void> {
    const { heartbeats, node, incarnation, heartbeatMs } = this.#params;
    const sentAt = performance.now();
    await heartbeats.beat(node, incarnation);
    this.#lastAckedSentAt = sentAt;
    this.#timer = setInterval(() => this.#beat(), heartbeatMs);
  }

  /** No beat was acknowledged that was sent within the last `fenceAfterMs`. */
  get stale(): boolean {
    return performance.now() - this.#lastAckedSentAt > this.#params.fenceAfterMs;
  }

  /** Stops beating (beats in flight go on: `settled` waits for them). */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Resolves once the beats in flight are acknowledged or failed. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  #beat(): void {
    const { heartbeats, node, incarnation, active, onAck, onError } = this.#params;
    if (!active()) return;
    if (this.#inFlight.size >= MAX_BEATS_IN_FLIGHT) return;
    const sentAt = performance.now();
    const beat = heartbeats.beat(node, incarnation).then(() => {
      if (sentAt > this.#lastAckedSentAt) this.#lastAckedSentAt = sentAt;
      onAck();
    }, onError);
    this.#inFlight.add(beat);
    void beat.finally(() => this.#inFlight.delete(beat));
  }
}
