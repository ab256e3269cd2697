import { jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { EntryKind } from '../journal-chain.js';
import { JournalSubjects } from '../subjects.js';

/** A message to publish as an entry of a journal, bypassing the journal's rules. */
export interface ForgedEntry {
  readonly epoch: number;
  /** The stream sequence it claims to follow (0: first). */
  readonly prev: number;
  readonly kind?: EntryKind;
  readonly payload?: Uint8Array;
  /** The `Luact-Records` header, for a `records` entry. */
  readonly count?: number;
  /** A message ID, as the journal would give it (none: never a duplicate). */
  readonly msgID?: string;
}

/** Test access to the JetStream stream behind a JetStreamJournal, as an operator would have. */
export class JournalStreamAccess {
  private readonly subjects: JournalSubjects;

  constructor(
    private readonly connection: NatsConnection,
    readonly stream: string,
    subjectPrefix: string,
    partitions?: number,
  ) {
    this.subjects = new JournalSubjects(subjectPrefix, partitions);
  }

  entriesSubject(id: string): string {
    return this.subjects.entries(id);
  }

  /** The message ID the journal gives the entry of `epoch` that follows sequence `prev`. */
  slotId(id: string, prev: number, epoch: number): string {
    return this.subjects.slotId(id, prev, epoch);
  }

  closeMarkerSubject(id: string): string {
    return this.subjects.closeMarker(id);
  }

  /** The entry messages of journal `id`, oldest first (one request per stream message). */
  async messages(id: string): Promise<StoredMsg[]> {
    const jsm = await jetstreamManager(this.connection);
    const { first_seq: first, last_seq: last } = (await jsm.streams.info(this.stream)).state;
    const subject = this.subjects.entries(id);
    const messages: StoredMsg[] = [];
    for (let seq = first; seq <= last; seq++) {
      const message = await jsm.streams.getMessage(this.stream, { seq });
      if (message?.subject === subject) messages.push(message);
    }
    return messages;
  }

  /** Publishes an entry of journal `id` directly, as a writer ignoring every rule would. */
  async forge(id: string, entry: ForgedEntry): Promise<number> {
    const entryHeaders = headers();
    entryHeaders.set('Luact-Epoch', String(entry.epoch));
    entryHeaders.set('Luact-Prev', String(entry.prev));
    entryHeaders.set('Luact-Entry', entry.kind ?? 'record');
    if (entry.count !== undefined) entryHeaders.set('Luact-Records', String(entry.count));
    const ack = await jetstream(this.connection).publish(
      this.subjects.entries(id),
      entry.payload ?? new Uint8Array(0),
      { headers: entryHeaders, ...(entry.msgID === undefined ? {} : { msgID: entry.msgID }) },
    );
    return ack.seq;
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
