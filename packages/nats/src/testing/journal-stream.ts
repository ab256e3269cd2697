import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { JournalSubjects } from '../subjects.js';

/** Test access to the JetStream stream behind a JetStreamJournal, as an operator would have. */
export class JournalStreamAccess {
  private readonly subjects: JournalSubjects;

  constructor(
    private readonly connection: NatsConnection,
    readonly stream: string,
    subjectPrefix: string,
  ) {
    this.subjects = new JournalSubjects(subjectPrefix);
  }

  recordsSubject(id: string): string {
    return this.subjects.records(id);
  }

  /** The record messages of stream `id`, oldest first, one direct request each. */
  async messages(id: string): Promise<StoredMsg[]> {
    const jsm = await jetstreamManager(this.connection);
    const messages: StoredMsg[] = [];
    for (let seq = 1; ; ) {
      const next = await jsm.streams.getMessage(this.stream, {
        seq,
        next_by_subj: this.subjects.records(id),
      });
      if (!next) return messages;
      messages.push(next);
      seq = next.seq + 1;
    }
  }

  async deleteMessage(seq: number): Promise<void> {
    const jsm = await jetstreamManager(this.connection);
    await jsm.streams.deleteMessage(this.stream, seq);
  }

  async deleteStream(): Promise<void> {
    const jsm = await jetstreamManager(this.connection);
    await jsm.streams.delete(this.stream);
  }
}
