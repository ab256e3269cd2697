import { randomUUID } from 'node:crypto';
import { LuactError } from '@luact/core';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { type PublishAttempt, publishDurably } from './durable-publish.js';
import { sameMessage } from './journal-entries.js';
import type { JournalReader } from './journal-reader.js';
import { natsFailure } from './nats-errors.js';

/**
 * How the journal publishes one message (an entry or a close marker): durably, with a message
 * ID and the subject's expected last sequence, telling a repeat of its own publish from
 * another writer's message at the same place.
 */
export class EntryPublisher {
  constructor(
    private readonly connection: NatsConnection,
    /** Makes each attempt: the journal's ReplyInbox, no request object per publish. */
    private readonly attempts: PublishAttempt,
    private readonly reader: JournalReader,
    private readonly requestTimeoutMs: number,
    private readonly publishBudgetMs: number,
  ) {}

  /**
   * The one way the journal publishes: through `publishDurably` (retried with its message ID
   * while the outcome is unknown). Resolves with the stored message's sequence, or undefined
   * when another message already holds `msgID` on `subject`. A duplicate answer naming a
   * message that is gone (an ID a removed journal used within the duplicate window) is
   * published again under a fresh ID, guarded by the expected sequence alone.
   */
  async publish(
    subject: string,
    payload: Uint8Array,
    messageHeaders: MsgHdrs,
    msgID: string,
    lastSubjectSequence: number,
  ): Promise<number | undefined> {
    const budgetMs = this.publishBudgetMs;
    const options = {
      headers: messageHeaders,
      expect: { lastSubjectSequence },
      budgetMs,
      attemptTimeoutMs: Math.min(this.requestTimeoutMs, budgetMs),
    };
    const ack = await publishDurably(this.attempts, subject, payload, { ...options, msgID });
    if (!ack.duplicate) return ack.seq;
    const holder = await this.reader.messageAt(ack.seq);
    if (holder?.subject === subject) {
      return sameMessage(holder, payload, messageHeaders) ? ack.seq : undefined;
    }
    const again = await publishDurably(this.attempts, subject, payload, {
      ...options,
      msgID: `${msgID}:${randomUUID()}`,
    });
    return again.seq;
  }

  /**
   * A failed publish: one that may succeed later (out of budget, cut off) keeps its account of
   * the wait, under the journal's words; anything else as natsFailure tells it.
   */
  failure(action: string, error: unknown): LuactError {
    if (error instanceof LuactError && error.kind === 'UNAVAILABLE' && error.retryable) {
      const server = this.connection.getServer();
      return new LuactError('UNAVAILABLE', `NATS ${server}: ${action} failed: ${error.message}`, {
        retryable: true,
        details: { server, ...error.details },
        cause: error,
      });
    }
    return natsFailure(this.connection, action, error);
  }
}
