import { LuactError } from '@luact/core';
import {
  type ClosedStream,
  checkId,
  encodeRecord,
  type Journal,
  type JournalRecord,
  KeyedLock,
  type StreamInfo,
} from '@luact/journal';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeRecords } from './journal-entries.js';
import { ensureLayout } from './journal-layout.js';
import { closedJournals, journalIds, listJournals } from './journal-listing.js';
import { type JetStreamJournalOptions, resolveOptions } from './journal-options.js';
import {
  PartitionEpochs,
  type PartitionJournal,
  readPartition,
  takeOverPartition,
} from './journal-partitions.js';
import { EntryPublisher } from './journal-publish.js';
import { JournalReader } from './journal-reader.js';
import { ensureJournalStream } from './journal-stream.js';
import { type FenceResult, JournalWriter, NOTHING } from './journal-writer.js';
import { natsFailure } from './nats-errors.js';
import { ReplyInbox } from './reply-inbox.js';
import { untilReachable } from './streams.js';
import { JournalSubjects } from './subjects.js';

export type { FenceResult, JetStreamJournalOptions, PartitionJournal };

/**
 * The journal of a cluster (docs/concepts/journals.md): one JetStream stream of journals,
 * partitioned by journal ID, one subject per journal, one message per entry. Entries are
 * records (an append's records packed in one entry, split only where a message would not hold
 * them), fences (a new owner's mark: writers of older epochs are ignored after it) and the
 * close entry; each names its epoch and the entry it follows, and every read applies the fork
 * rule (journal-chain.ts), so forks the server let through — two writers at once on a 2.9.10
 * R3 stream, a paused old owner — resolve the same way for every reader. Each entry is
 * published expecting the subject's last sequence, with a message ID naming its place and
 * epoch: a stale writer is refused, a repeated publish is dropped, and two writers of one
 * epoch cannot both take one place. Closing appends a close entry, then a marker on
 * `<subject>.closed` (close-markers.ts): `open()` and `ids()` come from the stream's
 * per-subject counts.
 *
 * This class is the `Journal` face: it checks arguments, serialises the operations on each
 * journal and stops at shutdown; reading (journal-reader.ts), writing (journal-writer.ts),
 * listing (journal-listing.ts) and partitions (journal-partitions.ts) live next to it.
 */
export class JetStreamJournal implements Journal {
  readonly kind = 'jetstream';
  readonly durability: string;

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
      const { jsm, partitions } = await untilReachable(async () => {
        const jsm = await jetstreamManager(connection, { timeout: requestTimeoutMs });
        await ensureJournalStream(jsm, { name: stream, subjects: asked.all, replicas, maxAge });
        return {
          jsm,
          partitions: await ensureLayout(jsm, js, stream, subjectPrefix, options.partitions),
        };
      });
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

  private readonly reader: JournalReader;
  private readonly writer: JournalWriter;
  /**
   * Where this journal's publishes are acknowledged and its hot lookups answered (one
   * subscription, closed at shutdown).
   */
  private readonly inbox: ReplyInbox;
  private readonly epochs: PartitionEpochs;
  private readonly stream: string;
  private readonly subjects: JournalSubjects;

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
    const { connection, js, jsm, requestTimeoutMs } = setup;
    this.stream = setup.stream;
    this.subjects = setup.subjects;
    this.epochs = new PartitionEpochs(setup.stream, setup.subjects, setup.epochOf);
    this.inbox = new ReplyInbox(connection);
    this.reader = new JournalReader(
      connection,
      js,
      jsm,
      this.inbox,
      setup.stream,
      setup.subjects,
      requestTimeoutMs,
    );
    const publisher = new EntryPublisher(
      connection,
      this.inbox,
      this.reader,
      requestTimeoutMs,
      setup.publishBudgetMs,
    );
    this.writer = new JournalWriter(connection, jsm, this.reader, publisher);
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
    const epoch = this.epochs.ofJournal(id, 'append to');
    return this.lock.run(id, () => this.writer.append(id, epoch, expected, encoded));
  }

  async read(id: string): Promise<JournalRecord[]> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const { chain } = await this.writer.load(id);
      return decodeRecords(id, chain);
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
    const epoch = this.epochs.ofJournal(id, 'fence');
    return this.lock.run(id, async () => (await this.writer.fence(id, epoch)).result);
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = summary === undefined ? NOTHING : encodeRecord(summary);
    const epoch = this.epochs.ofJournal(id, 'close');
    return this.lock.run(id, () => this.writer.close(id, epoch, encoded));
  }

  async open(): Promise<string[]> {
    return (await this.ids()).filter((journal) => !journal.closed).map((journal) => journal.id);
  }

  /** Every journal with its chain's length: reads the entries' headers (not their payloads). */
  async list(): Promise<StreamInfo[]> {
    await this.beforeListing();
    return listJournals(this.reader);
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    await this.beforeListing();
    return journalIds(this.reader);
  }

  async listClosed(): Promise<ClosedStream[]> {
    await this.beforeListing();
    return closedJournals(this.reader);
  }

  /**
   * Every journal of partition `partition` (0 ≤ partition < `partitions`) with its records
   * after the fork rule, through one ordered consumer on `<prefix>.<partition>.>`: what a new
   * owner replays. A damaged journal is reported as such; the others are unaffected.
   */
  async readPartition(partition: number): Promise<PartitionJournal[]> {
    this.checkRunning();
    this.epochs.check(partition);
    await this.beforeListing();
    return readPartition(this.reader, this.writer, partition);
  }

  /**
   * What a new owner of `partition` does before resuming its journals: reads the partition
   * (one ordered consumer), fences every open journal at this node's epoch, and reads again
   * only a journal that changed between the read and its fence. The records returned are
   * exactly those that precede each fence.
   */
  async takeOver(partition: number): Promise<PartitionJournal[]> {
    this.checkRunning();
    this.epochs.check(partition);
    await this.beforeListing();
    const epoch = this.epochs.ofPartition(partition, `take over partition ${partition}`);
    return takeOverPartition(this.reader, this.writer, this.lock, partition, epoch);
  }

  async remove(id: string): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, () => this.writer.remove(id));
  }

  /**
   * Waits for the operations under way on a journal (each holds its lock) and the close
   * markers they sent, then closes the journal's reply inbox: what still waits on it (a
   * takeover's partition read, a marker sent again by a listing) fails UNAVAILABLE, "shut
   * down". The connection stays open (it is the caller's).
   */
  shutdown(): Promise<void> {
    this.stopped ??= this.lock
      .idle()
      .then(() => this.writer.markersIdle())
      .finally(() => this.inbox.close(this.shutDown()));
    return this.stopped;
  }

  /** Listings tell closed journals by their markers: the ones this journal sent come first. */
  private async beforeListing(): Promise<void> {
    this.checkRunning();
    await this.writer.settleMarkers();
  }

  private checkRunning(): void {
    if (this.stopped) throw this.shutDown();
  }

  private shutDown(): LuactError {
    return new LuactError('UNAVAILABLE', `the JetStream journal ${this.stream} is shut down`, {
      retryable: false,
      details: { stream: this.stream },
    });
  }
}
