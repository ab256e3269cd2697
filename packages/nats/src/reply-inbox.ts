import { JetStreamApiError, JetStreamError, type PubAck } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  createInbox,
  DrainingConnectionError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
  TimeoutError,
} from '@nats-io/transport-node';
import type { PublishAttempt, PublishAttemptOptions } from './durable-publish.js';

interface Waiter {
  readonly subject: string;
  readonly due: number;
  readonly resolve: (answer: Msg) => void;
  readonly reject: (error: Error) => void;
}

const decoder = new TextDecoder();

/**
 * Requests whose answers come back on one subscription of the connection: `_INBOX.<id>.<n>`
 * per request, matched here, with one timer for the earliest deadline. The client's own
 * requests (`js.publish`, a stream's message get) build a request object, a timer and an Error
 * each, and the mail (every cross-node send) and the journal (every append, and a look for a
 * close marker per new journal) ask on hot paths. A request fails with TimeoutError (no answer
 * in time), NoRespondersError (nothing listens on the subject), DrainingConnectionError or
 * ClosedConnectionError, which publishDurably's `classify` and `isUnreachable` read as they
 * read the client's; a publish also with JetStreamApiError, as `js.publish`'s does. Once the
 * server refuses the subscription, or the inbox is closed with a reason, every request fails
 * with that.
 */
export class ReplyInbox implements PublishAttempt {
  private readonly prefix: string;
  private readonly subscription: Subscription;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  /** When `timer` fires (ms since the epoch). */
  private timerDue = Number.POSITIVE_INFINITY;
  /** Why the inbox takes no more requests (see `close`). */
  private closedWith: Error | undefined;

  constructor(private readonly connection: NatsConnection) {
    this.prefix = `${createInbox()}.`;
    this.subscription = connection.subscribe(`${this.prefix}*`, {
      callback: (error, msg) => {
        if (error === null) this.answer(msg);
        // Refused (no permission to subscribe there) or ended: no answer can come any more.
        else this.close(error);
      },
    });
    // Requests waiting when the connection ends would otherwise wait out their deadline.
    void connection.closed().then(() => this.close());
  }

  publish(
    subject: string,
    payload: Uint8Array | string | undefined,
    options: PublishAttemptOptions,
  ): Promise<PubAck> {
    const { headers, msgID, expect, timeout } = options;
    headers.set('Nats-Msg-Id', msgID);
    if (expect?.lastMsgID !== undefined) headers.set('Nats-Expected-Last-Msg-Id', expect.lastMsgID);
    if (expect?.streamName !== undefined) headers.set('Nats-Expected-Stream', expect.streamName);
    if (expect?.lastSequence !== undefined)
      headers.set('Nats-Expected-Last-Sequence', `${expect.lastSequence}`);
    if (expect?.lastSubjectSequence !== undefined)
      headers.set('Nats-Expected-Last-Subject-Sequence', `${expect.lastSubjectSequence}`);
    return this.request(subject, payload, timeout, headers).then(readAck);
  }

  /**
   * Sends `payload` to `subject` and resolves with the answer: TimeoutError after
   * `timeoutMs`, NoRespondersError when nothing listens there.
   */
  request(
    subject: string,
    payload: Uint8Array | string | undefined,
    timeoutMs: number,
    headers?: MsgHdrs,
  ): Promise<Msg> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    // The client refuses requests once a drain starts; its answers would be dropped here.
    if (this.connection.isDraining()) return Promise.reject(new DrainingConnectionError());
    const id = this.nextId++;
    return new Promise<Msg>((resolve, reject) => {
      const due = Date.now() + timeoutMs;
      this.waiting.set(id, { subject, due, resolve, reject });
      try {
        this.connection.publish(subject, payload, {
          reply: `${this.prefix}${id}`,
          ...(headers === undefined ? {} : { headers }),
        });
      } catch (error) {
        this.waiting.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (due < this.timerDue) this.armTimer(due);
    });
  }

  /**
   * Ends the subscription: the requests still waiting, and any made later, fail with `reason`
   * (ClosedConnectionError unless told otherwise).
   */
  close(reason: Error = new ClosedConnectionError()): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    if (!this.connection.isClosed() && !this.subscription.isClosed())
      this.subscription.unsubscribe();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiting) waiter.reject(reason);
  }

  private answer(msg: Msg): void {
    const id = Number(msg.subject.slice(this.prefix.length));
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return; // timed out before its answer came
    this.waiting.delete(id);
    // Nothing listens on the subject (no stream, or no leader yet): the server answers 503.
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      waiter.reject(new NoRespondersError(waiter.subject));
    } else {
      waiter.resolve(msg);
    }
  }

  private armTimer(due: number): void {
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.expire, Math.max(0, due - Date.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, waiter] of this.waiting) {
      if (waiter.due <= now) {
        this.waiting.delete(id);
        waiter.reject(new TimeoutError());
      } else if (waiter.due < next) {
        next = waiter.due;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armTimer(next);
  };
}

/** The acknowledgement in a JetStream answer, or the error the client would have raised. */
function readAck(msg: Msg): PubAck {
  const answer = JSON.parse(decoder.decode(msg.data)) as Partial<PubAck> & {
    error?: ConstructorParameters<typeof JetStreamApiError>[0];
  };
  if (answer.error !== undefined) throw new JetStreamApiError(answer.error);
  if (typeof answer.stream !== 'string' || answer.stream === '' || typeof answer.seq !== 'number')
    throw new JetStreamError('invalid ack response');
  answer.duplicate = answer.duplicate === true;
  return answer as PubAck;
}
