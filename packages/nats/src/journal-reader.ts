import { LuactError } from '@luact/core';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  JetStreamError,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
} from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { type Chain, resolveChain } from './journal-chain.js';
import { damaged, decodeRecords, type Entry, entryOf } from './journal-entries.js';
import { isClosed, type Snapshot } from './journal-state.js';
import { LeaderGets } from './leader-gets.js';
import { natsFailure } from './nats-errors.js';
import type { ReplyInbox } from './reply-inbox.js';
import { readMatching } from './subject-reader.js';
import type { JournalSubjects } from './subjects.js';

/**
 * Reads the journals' stream: one journal (its close marker and entries), a partition's
 * journals, per-subject counts, whole-stream scans for listings. Journals are read by the
 * stream leader's message gets, so resuming and taking over never wait on a consumer placed on
 * a dead server; only the listings scan through an ordered consumer (headers only, far fewer
 * round trips). Every journal read is folded to its winning chain by the fork rule; a gap in
 * that chain is damage.
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
  private readonly gets: LeaderGets;
  /** Where the stream leader answers a message get. */
  private readonly messageGet: string;

  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    /** Asks for a close marker on each new journal (see `hasCloseMarker`). */
    private readonly inbox: ReplyInbox,
    readonly stream: string,
    readonly subjects: JournalSubjects,
    private readonly requestTimeoutMs: number,
  ) {
    this.gets = new LeaderGets(jsm, stream);
    this.messageGet = `${jsm.getOptions().apiPrefix}.STREAM.MSG.GET.${stream}`;
  }

  /** Journal `id` as it is now: its close marker and its entries (read only if there are any). */
  async journal(id: string): Promise<Snapshot> {
    return (await this.journalAndMarker(id)).snapshot;
  }

  /** Journal `id` as `journal` reads it, and the close marker that read found (or null). */
  async journalAndMarker(id: string): Promise<{ snapshot: Snapshot; marker: StoredMsg | null }> {
    const subject = this.subjects.entries(id);
    const [last, marker] = await Promise.all([
      this.lastMessage(id, subject),
      this.lastMessage(id, this.subjects.closeMarker(id)),
    ]);
    let messages: StoredMsg[] = [];
    if (last) {
      messages = await this.ask(`read journal ${id}`, () =>
        this.gets.subject(subject, (message) => message.seq >= last.seq),
      );
    }
    const chain = winningChain(
      id,
      messages.map((message) => entryOf(id, message)),
    );
    const closed = isClosed(marker !== null, chain, messages.length);
    return { snapshot: { id, chain, closed, lastSeq: last?.seq ?? 0 }, marker };
  }

  /** Whether journal `id`'s close marker is there (a closed journal, or a removal cut short). */
  async hasCloseMarker(id: string): Promise<boolean> {
    // Asked for every new journal: on the inbox, without the client's objects per request.
    const request = JSON.stringify({ last_by_subj: this.subjects.closeMarker(id) });
    return this.ask(`look up journal ${id}`, async () =>
      holdsMessage(await this.inbox.request(this.messageGet, request, this.requestTimeoutMs)),
    );
  }

  /**
   * Every journal of a partition: its entries up to the last one there when the read began
   * (per the stream's subject counts), and whether its close marker is there.
   */
  async partition(partition: number): Promise<(Snapshot | DamagedJournal)[]> {
    const counts = await this.counts(this.subjects.partition(partition));
    const marked = new Set<string>();
    const entries: [id: string, subject: string, count: number][] = [];
    for (const [subject, count] of Object.entries(counts)) {
      const parsed = this.subjects.parse(subject);
      if (parsed === undefined || count === 0) continue;
      if (parsed.marker) marked.add(parsed.id);
      else entries.push([parsed.id, subject, count]);
    }
    return Promise.all(
      entries.map(async ([id, subject, count]) => {
        const found = await this.ask(`read journal ${id}`, () =>
          this.gets.subject(subject, (_, read) => read >= count),
        );
        return this.snapshotOf(id, found, marked.has(id));
      }),
    );
  }

  /** Journal `id` folded from its entries `found`, or why it is damaged. */
  private snapshotOf(id: string, found: StoredMsg[], marked: boolean): Snapshot | DamagedJournal {
    try {
      const chain = winningChain(
        id,
        found.map((message) => entryOf(id, message)),
      );
      // Decoded here so a record that does not decode marks its journal damaged.
      decodeRecords(id, chain);
      const lastSeq = Math.max(0, ...found.map((message) => message.seq));
      return { id, chain, closed: isClosed(marked, chain, found.length), lastSeq };
    } catch (error) {
      if (!(error instanceof LuactError)) throw error;
      return { id, damaged: error };
    }
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

  /** Every message matching `filter`, through one ordered consumer (a scan for listings). */
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

const decoder = new TextDecoder();

/**
 * Whether a stream's answer to a message get holds a message: false for "no message found";
 * any other error is raised as the client raises it.
 */
function holdsMessage(answer: Msg): boolean {
  const body = JSON.parse(decoder.decode(answer.data)) as {
    error?: ConstructorParameters<typeof JetStreamApiError>[0];
    message?: unknown;
  };
  if (body.error?.err_code === JetStreamApiCodes.NoMessageFound) return false;
  if (body.error !== undefined) throw new JetStreamApiError(body.error);
  if (body.message === undefined) throw new JetStreamError('invalid message get response');
  return true;
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
