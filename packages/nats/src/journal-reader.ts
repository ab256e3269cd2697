import { LuactError } from '@luact/core';
import type { JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Chain, resolveChain } from './journal-chain.js';
import { damaged, decodeEntry, type Entry, entryOf } from './journal-entries.js';
import type { Snapshot } from './journal-state.js';
import { natsFailure } from './nats-errors.js';
import { readMatching, readSubject } from './subject-reader.js';
import type { JournalSubjects } from './subjects.js';

/**
 * Reads the journals' stream: one journal (its close marker and entries), a partition's
 * journals through one ordered consumer, per-subject counts. Every journal read is folded to
 * its winning chain by the fork rule; a gap in that chain is damage.
 */

/**
 * A journal that cannot be read, and why (INTERNAL, naming subject and sequence); other
 * journals are unaffected.
 */
export interface DamagedJournal {
  readonly id: string;
  readonly damaged: LuactError;
}

export class JournalReader {
  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    readonly subjects: JournalSubjects,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Journal `id` as it is now: its close marker and its entries (read only if there are any). */
  async journal(id: string): Promise<Snapshot> {
    const subject = this.subjects.entries(id);
    const [last, marker] = await Promise.all([
      this.lastMessage(id, subject),
      this.lastMessage(id, this.subjects.closeMarker(id)),
    ]);
    let messages: JsMsg[] = [];
    if (last) {
      messages = await this.ask(`read journal ${id}`, () =>
        readSubject(this.js, this.stream, subject, last.seq, this.requestTimeoutMs),
      );
    }
    return {
      id,
      chain: winningChain(
        id,
        messages.map((message) => entryOf(id, message)),
      ),
      closed: marker !== null,
      lastSeq: last?.seq ?? 0,
    };
  }

  /** Every journal of a partition as one ordered consumer reads it (entries and markers). */
  async partition(partition: number): Promise<(Snapshot | DamagedJournal)[]> {
    const counts = await this.counts(this.subjects.partition(partition));
    if (Object.keys(counts).length === 0) return [];
    const messages = await this.readAll(this.subjects.partition(partition));
    const marked = new Set<string>();
    for (const message of messages) {
      const parsed = this.subjects.parse(message.subject);
      if (parsed?.marker) marked.add(parsed.id);
    }
    return [...this.groupEntries(messages)].map(([id, found]) => {
      try {
        const chain = winningChain(
          id,
          found.map((message) => entryOf(id, message)),
        );
        // Decoded here so a record that does not decode marks its journal damaged.
        for (const entry of chain.records) decodeEntry(id, entry);
        const lastSeq = Math.max(...found.map((message) => message.seq));
        return { id, chain, closed: marked.has(id), lastSeq };
      } catch (error) {
        if (!(error instanceof LuactError)) throw error;
        return { id, damaged: error };
      }
    });
  }

  /** Messages of journal subjects, grouped by journal ID (close markers and strays left out). */
  groupEntries(messages: readonly JsMsg[]): Map<string, JsMsg[]> {
    const byId = new Map<string, JsMsg[]>();
    for (const message of messages) {
      const parsed = this.subjects.parse(message.subject);
      if (parsed === undefined || parsed.marker) continue;
      const list = byId.get(parsed.id);
      if (list) list.push(message);
      else byId.set(parsed.id, [message]);
    }
    return byId;
  }

  /** Every message matching `filter`, through one ordered consumer. */
  readAll(filter: string, headersOnly = false): Promise<JsMsg[]> {
    return this.ask(`read ${filter} in ${this.stream}`, () =>
      readMatching(this.js, this.stream, filter, this.requestTimeoutMs, headersOnly),
    );
  }

  messageAt(seq: number): Promise<StoredMsg | null> {
    return this.ask(`look up message ${seq} in ${this.stream}`, () =>
      this.jsm.streams.getMessage(this.stream, { seq }),
    );
  }

  /** Messages per subject matching `filter`, from the stream's state (no messages read). */
  counts(filter: string): Promise<Record<string, number>> {
    return this.ask(`list the journals in ${this.stream}`, async () => {
      const info = await this.jsm.streams.info(this.stream, { subjects_filter: filter });
      return info.state.subjects ?? {};
    });
  }

  private lastMessage(id: string, subject: string): Promise<StoredMsg | null> {
    return this.ask(`look up journal ${id}`, () =>
      this.jsm.streams.getMessage(this.stream, { last_by_subj: subject }),
    );
  }

  /** `request`, its failure told as a NATS failure to `action`. */
  private async ask<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw natsFailure(this.connection, action, error);
    }
  }
}

/** The winning chain of `entries`; a gap in it (a deleted or expired entry) is damage. */
function winningChain(id: string, entries: Entry[]): Chain<Entry> {
  const chain = resolveChain(entries);
  if (chain.broken) {
    throw damaged(
      id,
      chain.broken,
      `it follows sequence ${chain.broken.prev}, which is missing (expired or deleted)`,
    );
  }
  return chain;
}
