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

  /** The record messages of stream `id`, oldest first (one request per stream message). */
  async messages(id: string): Promise<StoredMsg[]> {
    const jsm = await jetstreamManager(this.connection);
    const { first_seq: first, last_seq: last } = (await jsm.streams.info(this.stream)).state;
    const subject = this.subjects.records(id);
    const messages: StoredMsg[] = [];
    for (let seq = first; seq <= last; seq++) {
      const message = await jsm.streams.getMessage(this.stream, { seq });
      if (message?.subject === subject) messages.push(message);
    }
    return messages;
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
