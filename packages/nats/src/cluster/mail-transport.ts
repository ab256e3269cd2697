import { LuactError } from '@luact/core';
import type {
  Delivery,
  Envelope,
  MailChannel,
  MailRecipient,
  NodeIdentity,
  Signal,
} from '@luact/process';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type ObjectStore, Objm, StorageType } from '@nats-io/obj';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { DEFAULT_PUBLISH_BUDGET_MS } from '../durable-publish.js';
import { natsFailure } from '../nats-errors.js';
import { ReplyInbox } from '../reply-inbox.js';
import { untilReachable } from '../streams.js';
import type { MailLog } from './mail-log.js';
import { MailPublisher, type Outgoing } from './mail-publisher.js';
import { MailReceiver } from './mail-receiver.js';
import { ensureMailConsumer, ensureMailStream } from './mail-stream.js';

export interface MailTransportOptions {
  /** The connection mail travels on; the transport neither opens nor closes it. */
  readonly connection: NatsConnection;
  /** This node's name: its mail arrives on `<subjectPrefix>.<node>`. */
  readonly node: string;
  /** This run of the node (from the membership layer): a restarted node has a new one. */
  readonly incarnation: number;
  /** The JetStream stream of all mail. Default `LUACT_MAIL`. */
  readonly stream?: string;
  /** Default `luact.mail`. */
  readonly subjectPrefix?: string;
  /** Replicas of the mail stream and the payload store: 1, or 3 on a cluster. Default 1. */
  readonly replicas?: number;
  /** The object store bucket of payloads sent by reference. Default `luact_mail`. */
  readonly blobBucket?: string;
  /**
   * The largest NATS message the server takes, in bytes. Default: the server's `max_payload`.
   * A record larger than this minus 4 KiB sends its payload through the object store.
   */
  readonly maxPayload?: number;
  /** How long a send may take to be stored before it fails UNAVAILABLE. Default 15 s, at most 60 s. */
  readonly sendTimeoutMs?: number;
  /** How long a gap in a sender's sequence is held before delivering on. Default 30 s. */
  readonly gapHoldMs?: number;
  /** Where the transport logs (dropped or refused mail, gaps, pull trouble). Default: nowhere. */
  readonly log?: MailLog;
}

/** Room left in a NATS message for headers (message ID and the client's own). */
export const MAIL_HEADER_ROOM = 4 * 1024;
/** How long a payload sent by reference is kept if nobody fetches and deletes it. */
export const MAIL_BLOB_MAX_AGE_MS = 3_600_000;
const MAX_SEND_TIMEOUT_MS = 60_000;
const DEFAULT_GAP_HOLD_MS = 30_000;
/** Node names become a subject token and a consumer name. */
const NODE_NAME = /^[A-Za-z0-9_-]+$/;
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Mail between luact nodes over JetStream: the mail half of a cluster node's transport. Everything the
 * process system addresses to another node's PIDs is published to that node's subject on one
 * WorkQueue stream, numbered per sender incarnation and receiving node; each node pulls its
 * subject through a durable consumer named after it and hands records to its process system
 * in each sender's order, once (README "Mail between nodes").
 */
export class MailTransport implements MailChannel {
  /** This node as its PIDs name it. */
  readonly identity: NodeIdentity;
  private readonly publisher: MailPublisher;
  private receiver: MailReceiver | undefined;
  private readonly sending = new Set<Promise<void>>();
  private closed = false;

  static async open(options: MailTransportOptions): Promise<MailTransport> {
    const {
      connection,
      node,
      incarnation,
      stream = 'LUACT_MAIL',
      subjectPrefix = 'luact.mail',
      replicas = 1,
      blobBucket = 'luact_mail',
      maxPayload = connection.info?.max_payload ?? 1024 * 1024,
      sendTimeoutMs = DEFAULT_PUBLISH_BUDGET_MS,
      gapHoldMs = DEFAULT_GAP_HOLD_MS,
      log = () => {},
    } = options;
    checkName('node', node, NODE_NAME);
    checkName('stream', stream, STREAM_NAME);
    checkName('blobBucket', blobBucket, STREAM_NAME);
    checkName('subjectPrefix', subjectPrefix, SUBJECT_PREFIX);
    checkInteger('incarnation', incarnation, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('replicas', replicas, 1, 5);
    checkInteger('maxPayload', maxPayload, MAIL_HEADER_ROOM + 1, Number.MAX_SAFE_INTEGER);
    checkInteger('sendTimeoutMs', sendTimeoutMs, 1, MAX_SEND_TIMEOUT_MS);
    checkInteger('gapHoldMs', gapHoldMs, 1, Number.MAX_SAFE_INTEGER);

    const subjectOf = (receiver: string) => `${subjectPrefix}.${receiver}`;
    const js = jetstream(connection);
    let blobs: ObjectStore;
    try {
      blobs = await untilReachable(async () => {
        const jsm = await jetstreamManager(connection);
        await ensureMailStream(jsm, { name: stream, subjects: `${subjectPrefix}.*`, replicas });
        await ensureMailConsumer(jsm, stream, node, subjectOf(node));
        return new Objm(js).create(blobBucket, {
          storage: StorageType.File,
          replicas,
          ttl: nanos(MAIL_BLOB_MAX_AGE_MS),
        });
      });
    } catch (error) {
      throw natsFailure(connection, `set up mail of node ${node} (stream ${stream})`, error);
    }
    const acks = new ReplyInbox(connection);
    const publisher = new MailPublisher({
      js: acks,
      blobs,
      self: { node, incarnation },
      subjectOf,
      maxRecordBytes: maxPayload - MAIL_HEADER_ROOM,
      sendTimeoutMs,
    });
    return new MailTransport(
      node,
      incarnation,
      publisher,
      acks,
      (receiver) =>
        new MailReceiver({ js, blobs, stream, consumer: node, receiver, gapHoldMs, log }),
    );
  }

  private constructor(
    node: string,
    incarnation: number,
    publisher: MailPublisher,
    private readonly acks: ReplyInbox,
    private readonly receiverFor: (receiver: MailRecipient) => MailReceiver,
  ) {
    this.identity = { node, incarnation };
    this.publisher = publisher;
  }

  sendRemote(node: string, envelope: Envelope): Delivery {
    return this.publish(node, { kind: 'message', envelope });
  }

  signalRemote(node: string, signal: Signal): Delivery {
    return this.publish(node, { kind: 'signal', signal });
  }

  /** Starts taking this node's mail and handing it to `receiver`. Once only. */
  attach(receiver: MailRecipient): void {
    if (this.receiver !== undefined) {
      throw new LuactError(
        'ALREADY_EXISTS',
        `mail of node ${this.identity.node} already has a receiver`,
      );
    }
    if (this.closed) return;
    this.receiver = this.receiverFor(receiver);
    this.receiver.start();
  }

  /**
   * The membership layer declared this incarnation of `node` dead: what it sent that is held
   * here waiting for a gap is handed on now, and its records still to come are dropped.
   */
  forget(node: string, incarnation: number): void {
    this.receiver?.forget({ node, incarnation });
  }

  /**
   * Stops taking mail (records already pulled are still handed over) and waits for sends
   * under way to settle. Later sends fail UNAVAILABLE.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.receiver?.stop();
    await Promise.allSettled(this.sending);
    this.acks.close();
  }

  private publish(node: string, outgoing: Outgoing): Delivery {
    if (this.closed) {
      return new LuactError(
        'UNAVAILABLE',
        `cannot send to node "${node}": the mail transport of node "${this.identity.node}" is closed`,
      );
    }
    if (!NODE_NAME.test(node)) {
      return new LuactError(
        'INVALID',
        `cannot send to node "${node}": a node name is letters, digits, "_" and "-"`,
        { retryable: false },
      );
    }
    // Mail often answers mail just taken: its acks go out in the same write as the answer.
    this.receiver?.acknowledgeNow();
    const sent = this.publisher.publish(node, outgoing);
    this.sending.add(sent);
    // The caller gets the failure; a caller that does not wait must not crash the node.
    sent.then(
      () => this.sending.delete(sent),
      () => this.sending.delete(sent),
    );
    return sent;
  }
}

function checkName(option: string, value: unknown, pattern: RegExp): void {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new LuactError(
      'INVALID',
      `MailTransport.open: ${option} ${JSON.stringify(value)} must match ${pattern}`,
      { retryable: false },
    );
  }
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new LuactError(
      'INVALID',
      `MailTransport.open: ${option} must be an integer from ${min} to ${max}, got ${String(value)}`,
      { retryable: false },
    );
  }
}
