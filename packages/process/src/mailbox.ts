import type { DeliveryField } from '@luact/lua';
import type { Envelope } from './transport.js';

/** Where a mailbox puts things: fed channels of the process's current fiber group. */
export interface FedSink {
  deliver(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void;
  pendingIn(channel: number): number;
  /** Forgets a channel, returning what was queued for it (as message envelopes). */
  release(channel: number): readonly { a: DeliveryField; b: DeliveryField; c: DeliveryField }[];
}

interface QueuedEvent {
  readonly kind: string;
  readonly from: string | undefined;
  readonly details: Uint8Array;
}

/**
 * Routes what arrives for one process (DESIGN.md §3): a message goes to the listen channel of
 * its topic, else to the inbox; with neither, it waits until one exists. Events wait likewise
 * for the events channel. Send order is kept per route.
 */
export class Mailbox {
  private inbox: number | undefined;
  private events: number | undefined;
  private listens: Map<string, number> | undefined;
  private retained: Envelope[] | undefined;
  private retainedEvents: QueuedEvent[] | undefined;

  constructor(private readonly sink: FedSink) {}

  /** Messages not yet received: retained here, or queued for the inbox and listen channels. */
  get length(): number {
    let queued = this.retained?.length ?? 0;
    if (this.inbox !== undefined) queued += this.sink.pendingIn(this.inbox);
    if (this.listens)
      for (const channel of this.listens.values()) queued += this.sink.pendingIn(channel);
    return queued;
  }

  deliver(envelope: Envelope): void {
    const channel = this.listens?.get(envelope.topic) ?? this.inbox;
    if (channel === undefined) {
      this.retained ??= [];
      this.retained.push(envelope);
    } else {
      this.sink.deliver(channel, envelope.topic, envelope.from, envelope.payload);
    }
  }

  deliverEvent(kind: string, from: string | undefined, details: Uint8Array): void {
    if (this.events === undefined) {
      this.retainedEvents ??= [];
      this.retainedEvents.push({ kind, from, details });
    } else {
      this.sink.deliver(this.events, kind, from, details);
    }
  }

  openInbox(channel: number): void {
    this.inbox = channel;
    this.flushRetained();
  }

  openEvents(channel: number): void {
    this.events = channel;
    const waiting = this.retainedEvents;
    this.retainedEvents = undefined;
    if (waiting)
      for (const event of waiting)
        this.sink.deliver(channel, event.kind, event.from, event.details);
  }

  listen(topic: string, channel: number): void {
    this.listens ??= new Map();
    this.listens.set(topic, channel);
    this.flushRetained();
  }

  /** Later messages of `topic` go to the inbox again, and so does what was still queued. */
  unlisten(topic: string): void {
    const channel = this.listens?.get(topic);
    if (channel === undefined) return;
    this.listens?.delete(topic);
    for (const item of this.sink.release(channel)) this.deliver(envelopeOf(item));
  }

  /**
   * The process restarts its code (upgrade): channels of the old code are gone, so everything
   * queued for them is retained again, in order, for the new code to open its channels.
   */
  rebind(): void {
    const queued: Envelope[] = [];
    const collect = (channel: number | undefined) => {
      if (channel === undefined) return;
      for (const item of this.sink.release(channel)) queued.push(envelopeOf(item));
    };
    collect(this.inbox);
    if (this.listens) for (const channel of this.listens.values()) collect(channel);
    const events: QueuedEvent[] = [];
    if (this.events !== undefined) {
      for (const item of this.sink.release(this.events)) {
        events.push({
          kind: item.a as string,
          from: item.b as string | undefined,
          details: item.c as Uint8Array,
        });
      }
    }
    this.retained = [...queued, ...(this.retained ?? [])];
    this.retainedEvents = [...events, ...(this.retainedEvents ?? [])];
    this.inbox = undefined;
    this.events = undefined;
    this.listens = undefined;
  }

  private flushRetained(): void {
    const waiting = this.retained;
    if (waiting === undefined) return;
    this.retained = undefined;
    for (const envelope of waiting) this.deliver(envelope);
  }
}

/** A queued message delivery back as an envelope (its `to` is the mailbox's own process). */
function envelopeOf(item: { a: DeliveryField; b: DeliveryField; c: DeliveryField }): Envelope {
  return {
    to: undefined as never,
    topic: item.a as string,
    from: item.b as Envelope['from'],
    payload: item.c as Uint8Array,
  };
}
