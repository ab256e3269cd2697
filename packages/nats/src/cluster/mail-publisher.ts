import { LuactError } from '@luact/core';
import type { Envelope, Signal } from '@luact/process';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { type PublishAttempt, publishDurably } from '../durable-publish.js';
import { type Numbering, Outbox } from './mail-outbox.js';
import { encodeMailRecord, type MailBody, type NodeIncarnation } from './mail-record.js';

/** What the process system hands over: a message or a signal. */
export type Outgoing =
  | { readonly kind: 'message'; readonly envelope: Envelope }
  | { readonly kind: 'signal'; readonly signal: Signal };

export interface MailPublisherSettings {
  /** Makes each publish attempt (the transport's ReplyInbox). */
  readonly js: PublishAttempt;
  readonly blobs: ObjectStore;
  readonly self: NodeIncarnation;
  /** The subject of a receiving node's mail. */
  readonly subjectOf: (node: string) => string;
  /** Records larger than this send their payload through the object store. */
  readonly maxRecordBytes: number;
  /** How long a send may take to be stored before it fails UNAVAILABLE. */
  readonly sendTimeoutMs: number;
}

/** Pause between attempts to store a payload in the object store. */
const BLOB_RETRY_PAUSE_MS = 250;

/**
 * Numbers and publishes what this node incarnation sends to other nodes. Publishes are not
 * serialized: each is retried with its own message ID until stored or out of time, and the
 * receivers restore the order from the sequence numbers.
 */
export class MailPublisher {
  private readonly outboxes = new Map<string, Outbox>();

  constructor(private readonly settings: MailPublisherSettings) {}

  /** Resolves once JetStream stored the record; rejects UNAVAILABLE naming the node and the wait. */
  async publish(node: string, outgoing: Outgoing): Promise<void> {
    const started = Date.now();
    const outbox = this.outboxFor(node);
    const numbering = outbox.take();
    try {
      await this.store(node, numbering, outgoing, started);
    } catch (error) {
      outbox.abandon(numbering);
      throw notStored(node, started, error);
    }
    outbox.stored(numbering);
  }

  private async store(
    node: string,
    numbering: Numbering,
    outgoing: Outgoing,
    started: number,
  ): Promise<void> {
    const { js, self, subjectOf, maxRecordBytes, sendTimeoutMs } = this.settings;
    const msgID = `${self.node}.${self.incarnation}.${node}.${numbering.seq}`;
    const record = { sender: self, ...numbering };
    const body: MailBody =
      outgoing.kind === 'message'
        ? { kind: 'message', envelope: outgoing.envelope }
        : { kind: 'signal', signal: outgoing.signal };
    let bytes = encodeMailRecord({ ...record, body });
    if (bytes.byteLength > maxRecordBytes && outgoing.kind === 'message') {
      const { payload, ...head } = outgoing.envelope;
      // The message ID names the payload too: a repeated put replaces the same object.
      await this.putBlob(msgID, payload, started);
      bytes = encodeMailRecord({
        ...record,
        body: {
          kind: 'message-by-reference',
          envelope: head,
          blob: msgID,
          size: payload.byteLength,
        },
      });
    }
    const left = sendTimeoutMs - (Date.now() - started);
    if (left <= 0) throw new Error('out of time after storing the payload');
    await publishDurably(js, subjectOf(node), bytes, { msgID, budgetMs: left });
  }

  private async putBlob(name: string, payload: Uint8Array, started: number): Promise<void> {
    const { blobs, sendTimeoutMs } = this.settings;
    for (;;) {
      const left = sendTimeoutMs - (Date.now() - started);
      try {
        await blobs.putBlob({ name }, payload, { timeout: Math.max(1, left) });
        return;
      } catch (error) {
        if (Date.now() - started + BLOB_RETRY_PAUSE_MS >= sendTimeoutMs) throw error;
        await new Promise((resolve) => setTimeout(resolve, BLOB_RETRY_PAUSE_MS));
      }
    }
  }

  private outboxFor(node: string): Outbox {
    let outbox = this.outboxes.get(node);
    if (outbox === undefined) {
      outbox = new Outbox();
      this.outboxes.set(node, outbox);
    }
    return outbox;
  }
}

/**
 * Why a send failed: JetStream refusing the record (an answer, not worth retrying) is INTERNAL;
 * anything else means it could not be stored in time, UNAVAILABLE.
 */
function notStored(node: string, started: number, cause: unknown): LuactError {
  const waitedMs = Date.now() - started;
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof JetStreamApiError) {
    return new LuactError(
      'INTERNAL',
      `mail to node "${node}" was refused by JetStream: ${reason} (JetStream error ${cause.code})`,
      { details: { node, code: cause.code }, cause },
    );
  }
  return new LuactError(
    'UNAVAILABLE',
    `mail to node "${node}" was not stored by JetStream within ${(waitedMs / 1_000).toFixed(1)} s: ${reason}`,
    { retryable: true, details: { node, waitedMs }, cause },
  );
}
