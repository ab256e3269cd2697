import { LuactError } from '@luact/core';
import type { Envelope, Handing, MailRecipient } from '@luact/process';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { MailLog } from './mail-log.js';
import { MailOrder } from './mail-order.js';
import { decodeMailRecord, type MailRecord, type NodeIncarnation } from './mail-record.js';

export interface MailReceiverSettings {
  readonly js: JetStreamClient;
  readonly blobs: ObjectStore;
  readonly stream: string;
  /** The durable consumer of this node's subject. */
  readonly consumer: string;
  readonly receiver: MailRecipient;
  readonly gapHoldMs: number;
  readonly log: MailLog;
}

/** A record taken from the stream, waiting for its turn; `payload` is being fetched if by reference. */
interface Arrival {
  readonly record: MailRecord;
  readonly msg: JsMsg;
  payload?: Promise<Uint8Array | LuactError>;
}

/** Records pulled per request; the client asks for more when half are consumed. */
const PULL_BATCH = 1_000;
/** How long one pull request waits at the server before the client renews it. */
const PULL_EXPIRES_MS = 5_000;
/** Pause before pulling again after the consumer could not be reached. */
const RETRY_PAUSE_MS = 1_000;
/** Arrivals queued behind waiting deliveries before pulling pauses until one is handed over. */
const MAX_QUEUED = PULL_BATCH;

/**
 * Pulls this node's mail and hands it to the process system in each sender's order: one
 * pull loop on the node's durable consumer, records put in order by MailOrder, each
 * acknowledged once handed over (or dropped). Payloads sent by reference are fetched from the
 * object store before their turn comes and deleted after.
 */
export class MailReceiver {
  private readonly order: MailOrder<Arrival>;
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /**
   * The process system left a record for this node's next run: nothing after it is handed
   * over (that would break its sender's order) or acknowledged, and no more is pulled.
   */
  private leaving = false;
  /**
   * Per sender incarnation, the deliveries that wait (on a payload fetch, or on the process
   * system: mail to a name its node has not registered yet while it starts). That sender's
   * later arrivals queue behind them to keep its order; other senders' mail goes on.
   */
  private readonly waiting = new Map<string, Promise<void>>();
  /** Arrivals queued behind a waiting delivery, all senders together. */
  private queued = 0;
  private gapTimer: NodeJS.Timeout | undefined;
  /** When the gap timer fires (ms), so most records (no gap) touch no timer. */
  private gapTimerDue: number | undefined;
  /** Records handed over whose acknowledgement waits for the next turn of the event loop. */
  private readonly acks: JsMsg[] = [];
  private acking: NodeJS.Immediate | undefined;

  constructor(private readonly settings: MailReceiverSettings) {
    this.order = new MailOrder(settings.gapHoldMs);
  }

  start(): void {
    this.running ??= this.pullLoop();
  }

  /** The sender incarnation is dead: hand on what is held of it, drop what comes later. */
  forget(sender: NodeIncarnation): void {
    this.hand(this.order.forget(sender));
    this.armGapTimer();
  }

  /**
   * Stops pulling; records already pulled are still handed over. Held records stay
   * unacknowledged, so the next incarnation of this node gets them again.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.running;
    clearTimeout(this.gapTimer);
    this.gapTimerDue = undefined;
    while (this.waiting.size > 0) await Promise.all(this.waiting.values());
    this.acknowledgeNow();
  }

  private async pullLoop(): Promise<void> {
    const { js, stream, consumer, log } = this.settings;
    while (!this.stopped) {
      try {
        const messages = await (await js.consumers.get(stream, consumer)).consume({
          max_messages: PULL_BATCH,
          // A pull dies with its server; the client renews it only when it expires. At the
          // default 30 s, mail stood still ~35 s after every server of a cluster restarted.
          expires: PULL_EXPIRES_MS,
        });
        this.messages = messages;
        if (this.stopped) messages.stop();
        for await (const msg of messages) {
          this.take(msg);
          // Keep pace with deliveries that wait (rare) instead of piling arrivals up.
          while (this.queued >= MAX_QUEUED) await Promise.race(this.waiting.values());
        }
      } catch (error) {
        if (this.stopped) break;
        log({
          level: 'warn',
          message: 'mail: cannot pull from the consumer; trying again',
          fields: {
            stream,
            consumer,
            error: error instanceof Error ? error.message : String(error),
          },
        });
      }
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }

  private take(msg: JsMsg): void {
    const decoded = decodeMailRecord(msg.data);
    if (!decoded.ok) {
      this.settings.log({
        level: 'error',
        message: 'mail: dropped a record that does not decode',
        fields: { subject: msg.subject, streamSeq: msg.seq, problem: decoded.error },
      });
      msg.ack();
      return;
    }
    const record = decoded.value;
    const arrival: Arrival = { record, msg };
    const accepted = this.order.accept(record, arrival, Date.now());
    if (accepted.dropped !== undefined) {
      msg.ack();
      this.settings.log({
        level: 'debug',
        message: `mail: dropped a ${accepted.dropped} record`,
        fields: {
          sender: record.sender.node,
          incarnation: record.sender.incarnation,
          seq: record.seq,
        },
      });
    } else if (record.body.kind === 'message-by-reference') {
      arrival.payload = this.fetchPayload(record.body.blob);
    }
    this.hand(accepted.due);
    this.armGapTimer();
  }

  /** Hands arrivals over in the order given, each after its sender's deliveries that wait. */
  private hand(due: readonly Arrival[]): void {
    for (const arrival of due) {
      if (this.leaving) return;
      const sender = senderKey(arrival.record.sender);
      const before = this.waiting.get(sender);
      if (before === undefined && arrival.payload === undefined) {
        const waits = this.deliver(arrival, undefined);
        if (waits) this.queueBehind(sender, waits);
        continue;
      }
      this.queued += 1;
      const delivered = (before ?? Promise.resolve())
        .then(() => arrival.payload)
        .then((payload) => this.deliver(arrival, payload))
        .finally(() => {
          this.queued -= 1;
        });
      this.queueBehind(sender, delivered);
    }
  }

  /** `sender`'s later arrivals wait for `next` (a payload fetch, or a delivery that waits). */
  private queueBehind(sender: string, next: Promise<void>): void {
    this.waiting.set(sender, next);
    void next.finally(() => {
      if (this.waiting.get(sender) === next) this.waiting.delete(sender);
    });
  }

  /** Hands one arrival over; a promise when the process system waits before it takes it. */
  private deliver(
    arrival: Arrival,
    fetched: Uint8Array | LuactError | undefined,
  ): undefined | Promise<void> {
    if (this.leaving) return undefined;
    const { record, msg } = arrival;
    const { receiver, log } = this.settings;
    const body = record.body;
    try {
      if (body.kind === 'signal') {
        const signal = body.signal;
        if (signal.kind === 'refused') {
          const { to: sender, from: refusedBy, topic, error } = signal;
          const refusal = { sender, receiver: refusedBy, topic, error };
          logRefusal(log, refusal, 'another node refused a message');
        }
        receiver.signal(signal);
      } else {
        const envelope =
          body.kind === 'message'
            ? body.envelope
            : fetched instanceof Uint8Array
              ? { ...body.envelope, payload: fetched }
              : undefined;
        if (envelope === undefined) {
          log({
            level: 'error',
            message: 'mail: dropped a message whose payload could not be fetched',
            fields: {
              to: body.envelope.to,
              sender: record.sender.node,
              seq: record.seq,
              blob: body.kind === 'message-by-reference' ? body.blob : undefined,
              error: fetched instanceof LuactError ? fetched.message : undefined,
            },
          });
        } else {
          const error = receiver.deliver(envelope);
          if (error instanceof Promise) return this.handedLater(arrival, envelope, error);
          if (error === 'later') return this.leave();
          // Erlang drops mail to a process that is gone; so does this node, says so, and
          // tells the sender's node (the process system sends it a refusal).
          if (error) {
            const { from: sender, to: receiver, topic } = envelope;
            logRefusal(log, { sender, receiver, topic, error }, 'refused a message');
          }
        }
        if (body.kind === 'message-by-reference') this.deletePayload(body.blob);
      }
    } catch (error) {
      log({
        level: 'error',
        message: 'mail: handing over a record failed',
        fields: {
          sender: record.sender.node,
          seq: record.seq,
          error: LuactError.from(error).message,
        },
      });
    }
    this.ackSoon(msg);
    return undefined;
  }

  /**
   * The end of a delivery the process system made wait (mail to a name its node has not
   * registered yet, while it starts): as `deliver` ends, once it was handed over.
   */
  private async handedLater(
    arrival: Arrival,
    envelope: Envelope,
    handing: Promise<Handing>,
  ): Promise<void> {
    const error = await handing.catch((failure: unknown) => LuactError.from(failure));
    if (error === 'later') return this.leave();
    if (error) {
      const { from: sender, to: receiver, topic } = envelope;
      logRefusal(this.settings.log, { sender, receiver, topic, error }, 'refused a message');
    }
    const body = arrival.record.body;
    if (body.kind === 'message-by-reference') this.deletePayload(body.blob);
    this.ackSoon(arrival.msg);
  }

  /** See `leaving`: the records not handed over stay in the stream for the next run. */
  private leave(): undefined {
    this.leaving = true;
    this.stopped = true;
    this.messages?.stop();
    return undefined;
  }

  /**
   * Acknowledges a record handed over once the processes woken by it had their turn (the Lua
   * scheduler runs them from setImmediate too): what they send in answer is written to the
   * server before the acknowledgements, which are written together. Two turns of the event
   * loop, not one: a process still waiting for its previous send when the record came is woken
   * by that send's acknowledgement, often read in the same chunk, whose answer reaches the
   * scheduler some promise steps later than the record (with one turn, a fifth to a half of a
   * loaded ping-pong's acks went in a write of their own).
   */
  private ackSoon(msg: JsMsg): void {
    this.acks.push(msg);
    this.acking ??= setImmediate(this.nextTurn);
  }

  private readonly nextTurn = (): void => {
    this.acking = setImmediate(this.flushAcks);
  };

  /**
   * Writes the acknowledgements waiting for their turn now: called before this node sends,
   * so they leave in the same write to the server as what is sent (often the answer).
   */
  acknowledgeNow(): void {
    if (this.acking === undefined) return;
    clearImmediate(this.acking);
    this.flushAcks();
  }

  private readonly flushAcks = (): void => {
    this.acking = undefined;
    for (const msg of this.acks.splice(0)) {
      try {
        msg.ack();
      } catch {
        // The connection is closed: the record stays unacknowledged, like one handed over
        // just before a crash; it comes again (a duplicate, dropped) or goes to the next
        // incarnation of this node.
      }
    }
  };

  private fetchPayload(blob: string): Promise<Uint8Array | LuactError> {
    return this.settings.blobs.getBlob(blob).then(
      (payload) =>
        payload ??
        new LuactError(
          'NOT_FOUND',
          `payload ${blob} is not in the object store (expired or deleted)`,
        ),
      (error: unknown) => LuactError.from(error),
    );
  }

  private deletePayload(blob: string): void {
    this.settings.blobs.delete(blob).catch((error: unknown) =>
      this.settings.log({
        level: 'warn',
        message: 'mail: could not delete a delivered payload (it expires on its own)',
        fields: { blob, error: LuactError.from(error).message },
      }),
    );
  }

  /** One timer for the earliest gap held, so a gap is given up on after gapHoldMs. */
  private armGapTimer(): void {
    const due = this.stopped ? undefined : this.order.nextExpiry();
    if (due === this.gapTimerDue) return;
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    this.gapTimerDue = due;
    if (due === undefined) return;
    this.gapTimer = setTimeout(() => this.onGapTimer(), Math.max(0, due - Date.now()));
    this.gapTimer.unref();
  }

  private onGapTimer(): void {
    this.gapTimerDue = undefined;
    for (const released of this.order.expire(Date.now())) {
      this.settings.log({
        level: 'warn',
        message: 'mail: gave up waiting for missing records and delivered on',
        fields: {
          sender: released.sender.node,
          incarnation: released.sender.incarnation,
          missing: released.missing.map(([from, to]) =>
            from === to ? `${from}` : `${from}-${to}`,
          ),
        },
      });
      this.hand(released.due);
    }
    this.armGapTimer();
  }
}

/**
 * Mail that went nowhere: a full mailbox or an oversized message is worth a warning on both
 * nodes; mail to a process that has ended is normal (replies to a caller that gave up).
 */
function logRefusal(
  log: MailLog,
  refusal: { sender: string | undefined; receiver: string; topic: string; error: LuactError },
  message: string,
): void {
  log({
    level: refusal.error.kind === 'NOT_FOUND' ? 'debug' : 'warn',
    message: `mail: ${message}`,
    fields: {
      sender: refusal.sender,
      receiver: refusal.receiver,
      topic: refusal.topic,
      kind: refusal.error.kind,
      reason: refusal.error.message,
    },
  });
}

function senderKey({ node, incarnation }: NodeIncarnation): string {
  return `${node}~${incarnation}`;
}
