import { randomUUID } from 'node:crypto';
import { LuactError } from '@luact/core';
import {
  type ClosedStream,
  checkId,
  closedError,
  countStoredAlready,
  encodeRecord,
  type Journal,
  type JournalRecord,
  KeyedLock,
  lengthConflict,
  type StreamInfo,
} from '@luact/journal';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { publishDurably } from './durable-publish.js';
import type { EntryKind } from './journal-chain.js';
import { decodeEntry, entryHeaders, sameMessage } from './journal-entries.js';
import { closedJournals, journalIds, listJournals } from './journal-listing.js';
import { type JetStreamJournalOptions, resolveOptions } from './journal-options.js';
import { JournalReader } from './journal-reader.js';
import {
  checkWriter,
  type JournalState,
  keptChanging,
  type OpenState,
  type Snapshot,
  stateOf,
} from './journal-state.js';
import { ensureJournalStream, ensureLayout } from './journal-stream.js';
import { isWrongLastSequence, natsFailure } from './nats-errors.js';
import { JournalSubjects } from './subjects.js';

/** A journal of one partition, as `readPartition` and `takeOver` return it. */
export type PartitionJournal =
  | {
      readonly id: string;
      /** Its records after the fork rule. */
      readonly records: JournalRecord[];
      readonly closed: boolean;
    }
  | {
      readonly id: string;
      /** Why it cannot be read (INTERNAL, naming subject and sequence); other journals are unaffected. */
      readonly damaged: LuactError;
    };

/** What `fence` did. */
export type FenceResult =
  /** The fence is the chain's last entry (or one at this epoch already was); `length` records precede it. */
  | { readonly outcome: 'fenced'; readonly length: number }
  /** The journal is closed: nothing to resume. */
  | { readonly outcome: 'closed' }
  /** The journal has no records: nothing to fence. */
  | { readonly outcome: 'empty' };

/** Writes that find the journal changed under them look again this often before giving up. */
const MAX_ATTEMPTS = 3;
const NOTHING = new Uint8Array(0);

/**
 * The journal of a cluster (docs/concepts/journals.md): one JetStream stream of journals,
 * partitioned by journal ID, one subject per journal, one message per entry. Entries are
 * records, fences (a new owner's mark: writers of older epochs are ignored after it) and the
 * close entry; each names its epoch and the entry it follows, and every read applies the fork
 * rule (journal-chain.ts), so forks the server let through — two writers at once on a 2.9.10
 * R3 stream, a paused old owner — resolve the same way for every reader. Each entry is
 * published expecting the subject's last sequence, with a message ID naming its place and
 * epoch: a stale writer is refused, a repeated publish is dropped, and two writers of one
 * epoch cannot both take one place. Closing appends a close entry, then a marker on
 * `<subject>.closed`: `open()` and `ids()` come from the stream's per-subject counts.
 */
export type { JetStreamJournalOptions };

export class JetStreamJournal implements Journal {
  readonly kind = 'jetstream';
  readonly durability: string;

  private readonly states = new Map<string, JournalState>();
  /** The last entry this journal wrote to each journal: is it still on the winning chain? */
  private readonly written = new Map<string, number>();
  private readonly lock = new KeyedLock();
  private stopped: Promise<void> | undefined;

  static async open(options: JetStreamJournalOptions): Promise<JetStreamJournal> {
    const {
      connection,
      stream,
      subjectPrefix,
      replicas,
      maxAge,
      requestTimeoutMs,
      publishBudgetMs,
      epochOf,
      partitionKey,
    } = resolveOptions(options);
    // Checks the prefix and the partition count before anything is created.
    const asked = new JournalSubjects(subjectPrefix, options.partitions);
    const js = jetstream(connection, { timeout: requestTimeoutMs });
    try {
      const jsm = await jetstreamManager(connection, { timeout: requestTimeoutMs });
      await ensureJournalStream(jsm, { name: stream, subjects: asked.all, replicas, maxAge });
      const partitions = await ensureLayout(jsm, js, stream, subjectPrefix, options.partitions);
      return new JetStreamJournal({
        connection,
        js,
        jsm,
        stream,
        subjects: new JournalSubjects(subjectPrefix, partitions, partitionKey),
        requestTimeoutMs,
        publishBudgetMs,
        epochOf,
        replicas,
      });
    } catch (error) {
      throw natsFailure(connection, `set up the journal stream ${stream}`, error);
    }
  }

  private readonly connection: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly reader: JournalReader;
  private readonly stream: string;
  private readonly subjects: JournalSubjects;
  private readonly requestTimeoutMs: number;
  private readonly publishBudgetMs: number;
  private readonly epochOf: (partition: number) => number | undefined;

  private constructor(setup: {
    connection: NatsConnection;
    js: JetStreamClient;
    jsm: JetStreamManager;
    stream: string;
    subjects: JournalSubjects;
    requestTimeoutMs: number;
    publishBudgetMs: number;
    epochOf: (partition: number) => number | undefined;
    replicas: number;
  }) {
    this.connection = setup.connection;
    this.js = setup.js;
    this.jsm = setup.jsm;
    this.stream = setup.stream;
    this.subjects = setup.subjects;
    this.requestTimeoutMs = setup.requestTimeoutMs;
    this.publishBudgetMs = setup.publishBudgetMs;
    this.epochOf = setup.epochOf;
    this.reader = new JournalReader(
      setup.connection,
      setup.js,
      setup.jsm,
      setup.stream,
      setup.subjects,
      setup.requestTimeoutMs,
    );
    const { replicas, stream } = setup;
    this.durability =
      replicas > 1
        ? `JetStream R${replicas} (${stream}, file storage; an append resolves once a majority of ${replicas} servers stored it)`
        : `JetStream R1 (${stream}, file storage; an append resolves once the server stored it)`;
  }

  /** The stream's partition count (fixed when it was created). */
  get partitions(): number {
    return this.subjects.partitions;
  }

  /** The partition journal `id` belongs to. */
  partitionOf(id: string): number {
    checkId(id);
    return this.subjects.partitionOf(id);
  }

  async append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = records.map(encodeRecord);
    const epoch = this.epochFor(id, 'append to');
    return this.lock.run(id, () => this.appendEncoded(id, epoch, expected, encoded));
  }

  async read(id: string): Promise<JournalRecord[]> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const { chain } = await this.load(id);
      return chain.records.map((entry) => decodeEntry(id, entry));
    });
  }

  /**
   * Appends a fence at this journal's epoch for `id`'s partition: from then on every reader
   * ignores entries of older epochs that follow it, and an old owner's next append fails
   * CONFLICT. A new owner fences each journal it resumes, then reads it (or uses `takeOver`).
   * Fencing again at the same epoch does nothing; a journal fenced at a newer epoch fails
   * CONFLICT (this node is no longer its owner).
   */
  async fence(id: string): Promise<FenceResult> {
    this.checkRunning();
    checkId(id);
    const epoch = this.epochFor(id, 'fence');
    return this.lock.run(id, async () => {
      // A fence starts this owner's line: what this journal wrote before no longer matters.
      this.written.delete(id);
      return (await this.fenceAt(id, epoch)).result;
    });
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = summary === undefined ? NOTHING : encodeRecord(summary);
    const epoch = this.epochFor(id, 'close');
    return this.lock.run(id, async () => {
      for (let attempt = 1; ; attempt++) {
        const state = await this.state(id);
        if (state.phase === 'closed') return;
        if (state.phase === 'closing') return this.markClosed(id, state.summary);
        if (state.length === 0) return;
        checkWriter(id, state, epoch);
        const outcome = await this.publishEntries(id, state, epoch, 'close', [encoded]);
        // The marker carries the summary: listing closed journals reads markers, not records.
        if (outcome === 'stored') return this.markClosed(id, encoded);
        this.states.delete(id);
        if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'close it');
      }
    });
  }

  async open(): Promise<string[]> {
    return (await this.ids()).filter((journal) => !journal.closed).map((journal) => journal.id);
  }

  /** Every journal with its chain's length: reads the entries' headers (not their payloads). */
  async list(): Promise<StreamInfo[]> {
    this.checkRunning();
    return listJournals(this.reader);
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    this.checkRunning();
    return journalIds(this.reader);
  }

  async listClosed(): Promise<ClosedStream[]> {
    this.checkRunning();
    return closedJournals(this.reader);
  }

  /**
   * Every journal of partition `partition` (0 ≤ partition < `partitions`) with its records
   * after the fork rule, through one ordered consumer on `<prefix>.<partition>.>`: what a new
   * owner replays. A damaged journal is reported as such; the others are unaffected.
   */
  async readPartition(partition: number): Promise<PartitionJournal[]> {
    this.checkRunning();
    this.checkPartition(partition);
    const journals = await this.reader.partition(partition);
    return journals.map((journal) => {
      if ('damaged' in journal) return journal;
      // Journals this one is writing keep the view their own writes maintain.
      if (!this.states.has(journal.id)) this.remember(journal.id, journal);
      return published(journal);
    });
  }

  /**
   * What a new owner of `partition` does before resuming its journals: reads the partition
   * (one ordered consumer), fences every open journal at this node's epoch, and reads again
   * only a journal that changed between the read and its fence. The records returned are
   * exactly those that precede each fence.
   */
  async takeOver(partition: number): Promise<PartitionJournal[]> {
    this.checkRunning();
    this.checkPartition(partition);
    const epoch = this.epochOfPartition(partition, `take over partition ${partition}`);
    const journals = await this.reader.partition(partition);
    return Promise.all(
      journals.map((journal) => {
        if ('damaged' in journal) return journal;
        return this.lock.run(journal.id, async () => {
          this.written.delete(journal.id);
          this.remember(journal.id, journal);
          const { reloaded } = await this.fenceAt(journal.id, epoch);
          if (!reloaded) return published(journal);
          return published({ ...(await this.load(journal.id)), id: journal.id });
        });
      }),
    );
  }

  async remove(id: string): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      this.states.delete(id);
      this.written.delete(id);
      try {
        // Entries first: cut short between the two, a removed journal stays gone (its marker
        // then only refuses appends to the ID until it is removed again), never reappears open.
        await this.jsm.streams.purge(this.stream, { filter: this.subjects.entries(id) });
        await this.jsm.streams.purge(this.stream, { filter: this.subjects.closeMarker(id) });
      } catch (error) {
        throw natsFailure(this.connection, `remove journal ${id}`, error);
      }
    });
  }

  /** Waits for operations under way; the connection stays open (it is the caller's). */
  shutdown(): Promise<void> {
    this.stopped ??= this.lock.idle();
    return this.stopped;
  }

  private async appendEncoded(
    id: string,
    epoch: number,
    expected: number,
    encoded: readonly Uint8Array[],
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(id);
      if (state.phase !== 'open') throw closedError(id);
      checkWriter(id, state, epoch);
      const done = await countStoredAlready(id, expected, state.length, encoded, async () =>
        (await this.load(id)).chain.records.slice(expected).map((entry) => entry.data),
      );
      if (done === encoded.length) return;
      const outcome = await this.publishEntries(id, state, epoch, 'record', encoded.slice(done));
      if (outcome === 'stored') return;
      // The journal is not what this writer thought: look again and let the rules decide.
      this.states.delete(id);
      if (attempt === MAX_ATTEMPTS) throw lengthConflict(id, expected, state.length);
    }
  }

  /** Fences journal `id` at `epoch`; `reloaded`: the journal changed since the state it started from. */
  private async fenceAt(
    id: string,
    epoch: number,
  ): Promise<{ result: FenceResult; reloaded: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const reloaded = attempt > 1;
      const state = await this.state(id);
      if (state.phase !== 'open') return { result: { outcome: 'closed' }, reloaded };
      if (state.length === 0) return { result: { outcome: 'empty' }, reloaded };
      state.lost = undefined;
      checkWriter(id, state, epoch);
      if (state.fencedAt === epoch) {
        return { result: { outcome: 'fenced', length: state.length }, reloaded };
      }
      const outcome = await this.publishEntries(id, state, epoch, 'fence', [NOTHING]);
      if (outcome === 'stored') {
        return { result: { outcome: 'fenced', length: state.length }, reloaded };
      }
      this.states.delete(id);
      this.written.delete(id);
      if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'fence it');
    }
  }

  /**
   * Publishes `payloads` as entries of `kind` one after the other, each following the one
   * before: each must name the sequence the server gave the previous one, so they cannot be
   * pipelined. `stale`: the subject changed under this writer (or another writer of this epoch
   * took the place); the caller looks again.
   */
  private async publishEntries(
    id: string,
    state: OpenState,
    epoch: number,
    kind: EntryKind,
    payloads: readonly Uint8Array[],
  ): Promise<'stored' | 'stale'> {
    const subject = this.subjects.entries(id);
    for (const payload of payloads) {
      const sent = entryHeaders(epoch, state.tip, kind);
      let seq: number | undefined;
      try {
        seq = await this.publishOnce(
          subject,
          payload,
          sent,
          this.subjects.slotId(id, state.tip, epoch),
          state.lastSeq,
        );
      } catch (error) {
        this.states.delete(id); // the outcome is unknown: find out on the next call
        if (isWrongLastSequence(error)) return 'stale';
        throw this.failure(`${kind === 'record' ? 'append to' : kind} journal ${id}`, error);
      }
      if (seq === undefined) return 'stale';
      state.tip = seq;
      state.lastSeq = seq;
      if (kind === 'record') state.length += 1;
      if (kind === 'fence') state.fencedAt = epoch;
      this.written.set(id, seq);
    }
    return 'stored';
  }

  /**
   * The one way this journal publishes: through `publishDurably` (retried with its message ID
   * while the outcome is unknown). Resolves with the stored message's sequence, or undefined
   * when another message already holds `msgID` on `subject`. A duplicate answer naming a
   * message that is gone (an ID a removed journal used within the duplicate window) is
   * published again under a fresh ID, guarded by the expected sequence alone.
   */
  private async publishOnce(
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
    const ack = await publishDurably(this.js, subject, payload, { ...options, msgID });
    if (!ack.duplicate) return ack.seq;
    const holder = await this.reader.messageAt(ack.seq);
    if (holder?.subject === subject) {
      return sameMessage(holder, payload, messageHeaders) ? ack.seq : undefined;
    }
    const again = await publishDurably(this.js, subject, payload, {
      ...options,
      msgID: `${msgID}:${randomUUID()}`,
    });
    return again.seq;
  }

  private async markClosed(id: string, summary: Uint8Array): Promise<void> {
    this.states.delete(id); // a closed journal takes no appends: nothing to remember
    this.written.delete(id);
    const marker = this.subjects.closeMarker(id);
    try {
      await this.publishOnce(marker, summary, headers(), `${marker}:${summary.length}`, 0);
    } catch (error) {
      // A marker already there is an earlier close whose answer was lost.
      if (!isWrongLastSequence(error)) throw this.failure(`close journal ${id}`, error);
    }
  }

  /** This journal's view of journal `id`: cached, else two lookups and, if it has entries, a read. */
  private async state(id: string): Promise<JournalState> {
    const known = this.states.get(id);
    if (known) return known;
    return (await this.load(id)).state;
  }

  /** Reads journal `id` afresh, remembering what it found. */
  private async load(id: string): Promise<Snapshot & { state: JournalState }> {
    const snapshot = await this.reader.journal(id);
    return { ...snapshot, state: this.remember(id, snapshot) };
  }

  private remember(id: string, snapshot: Snapshot): JournalState {
    const state = stateOf(snapshot, this.written.get(id));
    this.states.set(id, state);
    return state;
  }

  private epochFor(id: string, action: string): number {
    return this.epochOfPartition(this.subjects.partitionOf(id), `${action} journal ${id}`);
  }

  private epochOfPartition(partition: number, action: string): number {
    const epoch = this.epochOf(partition);
    if (epoch === undefined) {
      throw new LuactError(
        'CONFLICT',
        `cannot ${action}: this node does not own partition ${partition} of ${this.stream}`,
        { retryable: false, details: { stream: this.stream, partition } },
      );
    }
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new LuactError(
        'INVALID',
        `epochOf(${partition}) must answer a non-negative integer or undefined, got ${epoch}`,
        { retryable: false, details: { stream: this.stream, partition } },
      );
    }
    return epoch;
  }

  private checkPartition(partition: number): void {
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new LuactError(
        'INVALID',
        `partition must be an integer from 0 to ${this.partitions - 1} in ${this.stream}, got ${partition}`,
        { retryable: false, details: { stream: this.stream } },
      );
    }
  }

  /** A failed publish: one out of budget keeps its account of the wait, under this journal's words. */
  private failure(action: string, error: unknown): LuactError {
    if (error instanceof LuactError && error.kind === 'UNAVAILABLE') {
      const server = this.connection.getServer();
      return new LuactError('UNAVAILABLE', `NATS ${server}: ${action} failed: ${error.message}`, {
        retryable: true,
        details: { server, ...error.details },
        cause: error,
      });
    }
    return natsFailure(this.connection, action, error);
  }

  private checkRunning(): void {
    if (this.stopped) {
      throw new LuactError('UNAVAILABLE', `the JetStream journal ${this.stream} is shut down`, {
        retryable: false,
        details: { stream: this.stream },
      });
    }
  }
}

/** A journal as `readPartition` hands it out. */
function published({ id, chain, closed }: Snapshot): PartitionJournal {
  return { id, records: chain.records.map((entry) => decodeEntry(id, entry)), closed };
}
