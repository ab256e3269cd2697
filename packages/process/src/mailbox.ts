import type { DeliveryField } from '@luact/lua';
import type { Envelope } from './transport.js';

/** Where a mailbox puts things: fed channels of the process's current fiber group. */
export interface FedSink {
  deliver(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void;
  /** `deliver`, for the one value `channel` gets (a call's result): its queue goes once taken. */
  deliverLast(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void;
  pendingIn(channel: number): number;
  /** Forgets a channel, returning what was queued for it (as message envelopes). */
  release(channel: number): readonly { a: DeliveryField; b: DeliveryField; c: DeliveryField }[];
  /**
   * Messages and bytes queued in the engine by processes of the same host, which send to an
   * inbox or listened topic without a host call (a process host's mail channels).
   */
  heldMail?(): { readonly messages: number; readonly bytes: number } | undefined;
}

interface QueuedEvent {
  readonly kind: string;
  readonly from: string | undefined;
  readonly details: Uint8Array;
}

/** What a message weighs in its receiver's mailbox: its payload and its topic. */
export function messageBytes(topic: string, payload: Uint8Array): number {
  return payload.length + Buffer.byteLength(topic, 'utf8');
}

/** What a mailbox holds not yet received: items, and their bytes (see Mailbox.held). */
export interface MailboxHeld {
  readonly length: number;
  readonly bytes: number;
}

/** What an event weighs in its receiver's mailbox: its details and its kind. */
export function eventBytes(kind: string, details: Uint8Array): number {
  return details.length + kind.length;
}

/**
 * The sizes of what a mailbox queued on one fed channel, oldest first. The receiver takes
 * deliveries from the front, so when the channel holds n fewer than were queued, the n oldest
 * sizes are the ones received.
 */
class ChannelBytes {
  private sizes: number[] = [];
  private head = 0;
  bytes = 0;

  /** `once`: the channel of one result, forgotten once that is received. */
  constructor(readonly once: boolean) {}

  get empty(): boolean {
    return this.head === this.sizes.length;
  }

  add(size: number): void {
    this.sizes.push(size);
    this.bytes += size;
  }

  /** The channel still holds `pending` deliveries: release the bytes of the rest. */
  settle(pending: number): void {
    let received = this.sizes.length - this.head - pending;
    if (received <= 0) return;
    while (received-- > 0) this.bytes -= this.sizes[this.head++] as number;
    if (this.head === this.sizes.length) {
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.sizes.length) {
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Routes what arrives for one process (docs/concepts/processes.md): a message goes to the listen
 * channel of its topic, else to the inbox; with neither, it waits until one exists. Events wait
 * likewise for the events channel. Send order is kept per route.
 *
 * It also knows what it holds that the process has not received yet, in messages, events and
 * results of its calls (`length`) and in bytes (`bytes`), for the host's mailbox limits.
 */
export class Mailbox {
  private inbox: number | undefined;
  /** Bytes queued on each channel, by fed channel (made on first delivery: most processes get none). */
  private queued: Map<number, ChannelBytes> | undefined;
  /** The rest, made when first needed: an idle process has only an inbox. */
  private more: MailboxMore | undefined;

  constructor(private readonly sink: FedSink) {}

  private get extra(): MailboxMore {
    this.more ??= new MailboxMore();
    return this.more;
  }

  /**
   * What it holds not yet received: messages, events and results of calls, retained here or
   * queued on the process's channels (`length`), and their bytes (payloads and topics, event
   * details, result values). Both in one look: the host's limits check both.
   */
  held(): MailboxHeld {
    const more = this.more;
    const mail = this.sink.heldMail?.();
    let length =
      (more?.retained?.length ?? 0) + (more?.retainedEvents?.length ?? 0) + (mail?.messages ?? 0);
    let bytes = (more?.retainedBytes ?? 0) + (mail?.bytes ?? 0);
    if (this.queued === undefined) return { length, bytes };
    for (const [channel, queued] of this.queued) {
      const pending = this.sink.pendingIn(channel);
      length += pending;
      queued.settle(pending);
      if (queued.once && queued.empty) this.queued.delete(channel);
      else bytes += queued.bytes;
    }
    return { length, bytes };
  }

  deliver(envelope: Envelope): void {
    const channel = this.more?.listens?.get(envelope.topic) ?? this.inbox;
    const size = messageBytes(envelope.topic, envelope.payload);
    if (channel === undefined) {
      const more = this.extra;
      more.retained ??= [];
      more.retained.push(envelope);
      more.retainedBytes += size;
    } else {
      this.queue(channel, size);
      this.sink.deliver(channel, envelope.topic, envelope.from, envelope.payload);
    }
  }

  deliverEvent(kind: string, from: string | undefined, details: Uint8Array): void {
    const more = this.extra;
    if (more.events === undefined) {
      more.retainedEvents ??= [];
      more.retainedEvents.push({ kind, from, details });
      more.retainedBytes += eventBytes(kind, details);
    } else {
      this.queue(more.events, eventBytes(kind, details));
      this.sink.deliver(more.events, kind, from, details);
    }
  }

  /** The process's code waits on fed `channel` for the result of a call or exec. */
  expectResult(channel: number): void {
    const more = this.extra;
    more.awaiting ??= new Set();
    more.awaiting.add(channel);
  }

  /** No result will come for `channel` after all (the call could not start). */
  forgetResult(channel: number): void {
    this.more?.awaiting?.delete(channel);
  }

  /** Calls and execs whose result has not arrived yet. */
  get awaitingResults(): number {
    return this.more?.awaiting?.size ?? 0;
  }

  /**
   * The result `expectResult` announced: counted like mail until received (a future nobody
   * asks keeps it). A result for code that is gone (the process upgraded since) has nobody to
   * receive it and is not queued.
   */
  deliverResult(channel: number, status: string, value: Uint8Array): void {
    if (this.more?.awaiting?.delete(channel) !== true) return;
    this.queue(channel, value.length, true);
    this.sink.deliverLast(channel, status, value, undefined);
  }

  openInbox(channel: number): void {
    this.inbox = channel;
    this.flushRetained();
  }

  openEvents(channel: number): void {
    const more = this.extra;
    more.events = channel;
    const waiting = more.retainedEvents;
    more.retainedEvents = undefined;
    if (waiting === undefined) return;
    for (const event of waiting) {
      more.retainedBytes -= eventBytes(event.kind, event.details);
      this.queue(channel, eventBytes(event.kind, event.details));
      this.sink.deliver(channel, event.kind, event.from, event.details);
    }
  }

  listen(topic: string, channel: number): void {
    const more = this.extra;
    more.listens ??= new Map();
    more.listens.set(topic, channel);
    this.flushRetained();
  }

  /** Later messages of `topic` go to the inbox again, and so does what was still queued. */
  unlisten(topic: string): void {
    const listens = this.more?.listens;
    const channel = listens?.get(topic);
    if (listens === undefined || channel === undefined) return;
    listens.delete(topic);
    for (const item of this.release(channel)) this.deliver(envelopeOf(item));
  }

  /**
   * The process restarts its code (upgrade): channels of the old code are gone, so everything
   * queued for them is retained again, in order, for the new code to open its channels.
   */
  rebind(): void {
    const more = this.extra;
    const queued: Envelope[] = [];
    const collect = (channel: number | undefined) => {
      if (channel === undefined) return;
      for (const item of this.release(channel)) queued.push(envelopeOf(item));
    };
    collect(this.inbox);
    if (more.listens) for (const channel of more.listens.values()) collect(channel);
    const events: QueuedEvent[] = [];
    if (more.events !== undefined) {
      for (const item of this.release(more.events)) {
        events.push({
          kind: item.a as string,
          from: item.b as string | undefined,
          details: item.c as Uint8Array,
        });
      }
    }
    for (const envelope of queued)
      more.retainedBytes += messageBytes(envelope.topic, envelope.payload);
    for (const event of events) more.retainedBytes += eventBytes(event.kind, event.details);
    more.retained = [...queued, ...(more.retained ?? [])];
    more.retainedEvents = [...events, ...(more.retainedEvents ?? [])];
    this.inbox = undefined;
    more.events = undefined;
    more.listens = undefined;
    // Results go to channels of the old code: nobody will receive them any more.
    more.awaiting = undefined;
    this.queued = undefined;
  }

  private queue(channel: number, size: number, once = false): void {
    this.queued ??= new Map();
    let queued = this.queued.get(channel);
    if (queued === undefined) {
      queued = new ChannelBytes(once);
      this.queued.set(channel, queued);
    } else {
      // Forget the sizes of what was received since: a process that only ever gets events
      // (no sends that read `bytes`) must not pile them up.
      queued.settle(this.sink.pendingIn(channel));
    }
    queued.add(size);
  }

  /** Takes a channel back from the sink: what it still held is no longer counted there. */
  private release(channel: number) {
    this.queued?.delete(channel);
    return this.sink.release(channel);
  }

  private flushRetained(): void {
    const more = this.more;
    const waiting = more?.retained;
    if (more === undefined || waiting === undefined) return;
    more.retained = undefined;
    for (const envelope of waiting) {
      more.retainedBytes -= messageBytes(envelope.topic, envelope.payload);
      this.deliver(envelope);
    }
  }
}

/** The parts of a mailbox most processes never use (see Mailbox.more). */
class MailboxMore {
  events: number | undefined;
  listens: Map<string, number> | undefined;
  /** Messages and events that arrived before a channel for them was opened. */
  retained: Envelope[] | undefined;
  retainedEvents: QueuedEvent[] | undefined;
  /** Bytes of `retained` and `retainedEvents`. */
  retainedBytes = 0;
  /** Fed channels of the current code waiting for the result of a call or exec. */
  awaiting: Set<number> | undefined;
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
