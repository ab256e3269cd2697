import type { EventPattern } from './pattern.js';

/** One event: which part of the system it is about, what happened, to what, and its data. */
export interface BusEvent {
  readonly system: string;
  readonly kind: string;
  readonly path: string;
  /** The msgpack encoding of the event's data (none when the event has no data). */
  readonly data: Uint8Array | undefined;
}

/**
 * Receives the events of one subscription. It returns false when it could not take the event
 * (its buffer is full): the event is then lost for this subscriber only.
 */
export type EventSink = (event: BusEvent) => boolean;

interface Subscription {
  readonly system: EventPattern;
  /** No kind pattern: every kind. */
  readonly kind: EventPattern | undefined;
  readonly sink: EventSink;
}

/**
 * Where the `events` module publishes and subscribes: the node's EventBus, or on a worker
 * thread the main thread's bus, reached through the thread link.
 */
export interface EventHub {
  /** Subscribes `sink` to events whose system (and kind, if given) match; returns the unsubscribe. */
  subscribe(system: EventPattern, kind: EventPattern | undefined, sink: EventSink): () => void;
  send(event: BusEvent): void;
  /**
   * Resolves once the subscriptions made so far see every event sent after: undefined when
   * they already do (a bus of this thread), a promise on a worker (main takes them later).
   */
  subscribed?(): Promise<void> | undefined;
}

/**
 * The node's event bus: publish and subscribe for observation, in one Node.js process.
 * Delivery is synchronous and at most once: `send` hands the event to every matching
 * subscriber before it returns, in subscription order, so every subscriber sees the events of
 * one node in the order they were sent. A subscriber whose buffer is full misses the event;
 * nothing is retried or stored.
 */
export class EventBus implements EventHub {
  private readonly subscriptions = new Map<number, Subscription>();
  private nextId = 1;

  /** Subscribes `sink` to events whose system (and kind, if given) match; returns the unsubscribe. */
  subscribe(system: EventPattern, kind: EventPattern | undefined, sink: EventSink): () => void {
    const id = this.nextId++;
    this.subscriptions.set(id, { system, kind, sink });
    return () => {
      this.subscriptions.delete(id);
    };
  }

  /** Delivers `event` to its subscribers; returns how many took it. */
  send(event: BusEvent): number {
    let taken = 0;
    for (const { system, kind, sink } of this.subscriptions.values()) {
      if (!system.matches(event.system)) continue;
      if (kind && !kind.matches(event.kind)) continue;
      if (sink(event)) taken++;
    }
    return taken;
  }

  /** Subscriptions open now. */
  get size(): number {
    return this.subscriptions.size;
  }
}
