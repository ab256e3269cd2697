import { LuactError } from '@luact/core';
import {
  type ClosedStream,
  checkId,
  closedError,
  countStoredAlready,
  decodeRecord,
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
  type JsMsg,
  jetstream,
  jetstreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { ensureJournalStream } from './journal-stream.js';
import { isWrongLastSequence, natsFailure } from './nats-errors.js';
import { readMatching, readSubject } from './subject-reader.js';
import { JournalSubjects } from './subjects.js';

export interface JetStreamJournalOptions {
  readonly connection: NatsConnection;
  /** The JetStream stream that holds every journal. Default `LUACT_JOURNAL`. */
  readonly stream?: string;
  /** Records of stream `id` go to `<subjectPrefix>.<token of id>`. Default `luact.journal`. */
  readonly subjectPrefix?: string;
  /** Replicas of the JetStream stream: 1, or 3 on a cluster. Default 1. */
  readonly replicas?: number;
  /**
   * Milliseconds records are kept. Default: until their stream is removed. A stream whose
   * first records expired can no longer be read (INTERNAL), so keep it well above the
   * longest workflow.
   */
  readonly maxAge?: number;
  /** How long one request to NATS may take before the operation fails UNAVAILABLE. Default 5 s. */
  readonly requestTimeoutMs?: number;
}

/** What this journal knows of one stream it writes, as the single writer. */
interface StreamState {
  /** Records in the stream. */
  length: number;
  /** The stream sequence of its last record, which the next publish expects (0: none yet). */
  lastSeq: number;
  closed: boolean;
}

/** Each record's position in its stream, so a reader can tell a gap or a stray message. */
const POSITION_HEADER = 'Luact-Journal-Position';
/** Appends that find the stream changed under them look again this often before giving up. */
const MAX_ATTEMPTS = 3;

/**
 * The journal of a cluster (docs/concepts/journals.md): one JetStream stream of journals, one
 * subject per journal stream, one message per record. The single writer is enforced by JetStream:
 * each record is published expecting the subject's last sequence, so a second writer (or a stale
 * view) is refused and reported as CONFLICT. Each record carries the message ID
 * `<token>:<position>`, so the server drops a repeated publish inside its duplicate window. Closing
 * a stream publishes a marker on `<subject>.closed`: `open()` and `list()` come from the stream's
 * per-subject message counts, without reading records.
 */
export class JetStreamJournal implements Journal {
  readonly kind = 'jetstream';
  readonly durability: string;

  private readonly states = new Map<string, StreamState>();
  private readonly lock = new KeyedLock();
  private stopped: Promise<void> | undefined;

  static async open(options: JetStreamJournalOptions): Promise<JetStreamJournal> {
    const {
      connection,
      stream = 'LUACT_JOURNAL',
      subjectPrefix = 'luact.journal',
      replicas = 1,
      maxAge = 0,
      requestTimeoutMs = 5_000,
    } = options;
    checkStreamName(stream);
    checkCount('replicas', replicas, 1);
    checkCount('maxAge', maxAge, 0);
    checkCount('requestTimeoutMs', requestTimeoutMs, 1);
    const subjects = new JournalSubjects(subjectPrefix);
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(connection, { timeout: requestTimeoutMs });
      await ensureJournalStream(jsm, { name: stream, subjects: subjects.all, replicas, maxAge });
    } catch (error) {
      throw natsFailure(connection, `set up the journal stream ${stream}`, error);
    }
    const js = jetstream(connection, { timeout: requestTimeoutMs });
    return new JetStreamJournal(connection, js, jsm, stream, subjects, requestTimeoutMs, replicas);
  }

  private constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subjects: JournalSubjects,
    private readonly requestTimeoutMs: number,
    replicas: number,
  ) {
    this.durability =
      replicas > 1
        ? `JetStream R${replicas} (${stream}, file storage; an append resolves once a majority of ${replicas} servers stored it)`
        : `JetStream R1 (${stream}, file storage; an append resolves once the server stored it)`;
  }

  async append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = records.map(encodeRecord);
    return this.lock.run(id, () => this.appendEncoded(id, expected, encoded));
  }

  async read(id: string): Promise<JournalRecord[]> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () =>
      (await this.readMessages(id)).map((message) => {
        const decoded = decodeRecord(message.data);
        if (!decoded.ok) throw damaged(id, message, decoded.error);
        return decoded.value;
      }),
    );
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = summary === undefined ? undefined : encodeRecord(summary);
    return this.lock.run(id, async () => {
      const state = await this.state(id);
      this.states.delete(id); // a closed stream takes no appends: nothing to remember
      if (state.closed || state.length === 0) return;
      try {
        // The marker carries the summary: listing closed streams reads markers, not records.
        await this.js.publish(this.subjects.closeMarker(id), encoded, {
          expect: { lastSubjectSequence: 0 },
        });
      } catch (error) {
        // A marker already there is an earlier close whose answer was lost.
        if (!isWrongLastSequence(error))
          throw natsFailure(this.connection, `close journal ${id}`, error);
      }
    });
  }

  async open(): Promise<string[]> {
    return (await this.list()).filter((stream) => !stream.closed).map((stream) => stream.id);
  }

  async list(): Promise<StreamInfo[]> {
    this.checkRunning();
    const [records, markers] = await Promise.all([
      this.messageCounts(this.subjects.everyStream),
      this.messageCounts(this.subjects.everyCloseMarker),
    ]);
    const closed = new Set(Object.keys(markers).map((subject) => this.subjects.idOf(subject)));
    const streams: StreamInfo[] = [];
    for (const [subject, length] of Object.entries(records)) {
      const id = this.subjects.idOf(subject);
      if (id !== undefined && length > 0) streams.push({ id, length, closed: closed.has(id) });
    }
    return streams;
  }

  async listClosed(): Promise<ClosedStream[]> {
    this.checkRunning();
    const [records, markers] = await Promise.all([
      this.messageCounts(this.subjects.everyStream),
      this.messageCounts(this.subjects.everyCloseMarker),
    ]);
    // A marker without records is what a removal cut short leaves: that stream is gone.
    const closed = Object.keys(markers)
      .map((subject) => this.subjects.idOf(subject))
      .filter(
        (id): id is string => id !== undefined && (records[this.subjects.records(id)] ?? 0) > 0,
      );
    if (closed.length === 0) return [];
    let messages: JsMsg[];
    try {
      messages = await readMatching(
        this.js,
        this.stream,
        this.subjects.everyCloseMarker,
        this.requestTimeoutMs,
      );
    } catch (error) {
      throw natsFailure(this.connection, `read the close markers in ${this.stream}`, error);
    }
    const summaries = new Map<string, JournalRecord>();
    for (const message of messages) {
      const id = this.subjects.idOf(message.subject);
      // An empty marker was closed without a summary; one that does not decode counts as such.
      const decoded = message.data.length > 0 ? decodeRecord(message.data) : undefined;
      if (id !== undefined && decoded?.ok) summaries.set(id, decoded.value);
    }
    return closed.map((id) => {
      const summary = summaries.get(id);
      return summary === undefined ? { id } : { id, summary };
    });
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    return (await this.list()).map(({ id, closed }) => ({ id, closed }));
  }

  async remove(id: string): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      this.states.delete(id);
      try {
        // Records first: cut short between the two, a removed stream stays gone (its marker
        // then only refuses appends to the ID until it is removed again), never reappears open.
        await this.jsm.streams.purge(this.stream, { filter: this.subjects.records(id) });
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
    expected: number,
    encoded: readonly Uint8Array[],
  ): Promise<void> {
    let deduplicate = true;
    let duplicateAt: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(id);
      if (state.closed) throw closedError(id);
      // The server reported a repeated message ID, yet the record is not there: the ID was
      // used by a removed stream within the duplicate window. Rely on the sequence alone.
      if (duplicateAt !== undefined && state.length <= duplicateAt) deduplicate = false;
      const done = await countStoredAlready(id, expected, state.length, encoded, async () =>
        (await this.readMessages(id)).slice(expected).map((message) => message.data),
      );
      if (done === encoded.length) return;
      const outcome = await this.publish(
        id,
        state,
        expected + done,
        encoded.slice(done),
        deduplicate,
      );
      if (outcome === 'stored') return;
      // The stream is not what this journal thought: look again and let the repeat rule decide.
      this.states.delete(id);
      if (outcome !== 'stale') duplicateAt = outcome.duplicateAt;
      if (attempt === MAX_ATTEMPTS) throw lengthConflict(id, expected, state.length);
    }
  }

  /**
   * Publishes `payloads` as records `from`, `from + 1`, … one after the other: each must
   * expect the sequence the server gave the one before, so they cannot be pipelined without
   * letting records land after another writer's.
   */
  private async publish(
    id: string,
    state: StreamState,
    from: number,
    payloads: readonly Uint8Array[],
    deduplicate: boolean,
  ): Promise<'stored' | 'stale' | { readonly duplicateAt: number }> {
    const subject = this.subjects.records(id);
    for (const [index, payload] of payloads.entries()) {
      const position = from + index;
      const positionHeader = headers();
      positionHeader.set(POSITION_HEADER, String(position));
      let ack: Awaited<ReturnType<JetStreamClient['publish']>>;
      try {
        ack = await this.js.publish(subject, payload, {
          headers: positionHeader,
          expect: { lastSubjectSequence: state.lastSeq },
          ...(deduplicate ? { msgID: this.subjects.messageId(id, position) } : {}),
        });
      } catch (error) {
        this.states.delete(id); // the outcome is unknown: find out on the next call
        if (isWrongLastSequence(error)) return 'stale';
        throw natsFailure(this.connection, `append to journal ${id}`, error);
      }
      if (ack.duplicate) return { duplicateAt: position };
      state.length = position + 1;
      state.lastSeq = ack.seq;
    }
    return 'stored';
  }

  /** This journal's view of stream `id`, looked up (two direct requests) on first use. */
  private async state(id: string): Promise<StreamState> {
    const known = this.states.get(id);
    if (known) return known;
    const [last, marker] = await Promise.all([
      this.lastMessage(id, this.subjects.records(id)),
      this.lastMessage(id, this.subjects.closeMarker(id)),
    ]);
    const state: StreamState = {
      length: last ? positionOf(id, last) + 1 : 0,
      lastSeq: last?.seq ?? 0,
      closed: marker !== null,
    };
    this.states.set(id, state);
    return state;
  }

  /** Every record message of stream `id`, checked to hold positions 0, 1, 2, … in order. */
  private async readMessages(id: string): Promise<JsMsg[]> {
    const subject = this.subjects.records(id);
    const last = await this.lastMessage(id, subject);
    if (!last) return [];
    let messages: JsMsg[];
    try {
      messages = await readSubject(this.js, this.stream, subject, last.seq, this.requestTimeoutMs);
    } catch (error) {
      throw natsFailure(this.connection, `read journal ${id}`, error);
    }
    messages.forEach((message, index) => {
      const position = positionOf(id, message);
      if (position < index) throw damaged(id, message, `record ${position} appears twice`);
      if (position > index) {
        throw damaged(id, message, `record ${index} is missing (expired or deleted)`);
      }
    });
    const known = this.states.get(id);
    if (known) {
      known.length = messages.length;
      known.lastSeq = last.seq;
    }
    return messages;
  }

  private async lastMessage(id: string, subject: string): Promise<StoredMsg | null> {
    try {
      return await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    } catch (error) {
      throw natsFailure(this.connection, `look up journal ${id}`, error);
    }
  }

  /** Messages per subject matching `filter`, from the stream's state (no records read). */
  private async messageCounts(filter: string): Promise<Record<string, number>> {
    try {
      const info = await this.jsm.streams.info(this.stream, { subjects_filter: filter });
      return info.state.subjects ?? {};
    } catch (error) {
      throw natsFailure(this.connection, `list the journals in ${this.stream}`, error);
    }
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

function positionOf(id: string, message: StoredMsg | JsMsg): number {
  const recordHeaders = 'headers' in message ? message.headers : message.header;
  const text = recordHeaders?.get(POSITION_HEADER) ?? '';
  const position = Number(text);
  if (text === '' || !Number.isSafeInteger(position) || position < 0) {
    throw damaged(id, message, `no valid ${POSITION_HEADER} header`);
  }
  return position;
}

function damaged(id: string, message: StoredMsg | JsMsg, why: string): LuactError {
  return new LuactError(
    'INTERNAL',
    `journal ${id}: damaged record on subject ${message.subject} at sequence ${message.seq}: ${why}`,
    { retryable: false, details: { stream: id, subject: message.subject, sequence: message.seq } },
  );
}

function checkStreamName(name: string): void {
  if (!/^[^.*>\s/\\]+$/.test(name)) {
    throw new LuactError(
      'INVALID',
      `JetStream stream name must be non-empty without . * > / \\ or spaces, got ${JSON.stringify(name)}`,
      { retryable: false },
    );
  }
}

function checkCount(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new LuactError(
      'INVALID',
      `JetStreamJournal ${name} must be an integer of at least ${minimum}, got ${value}`,
      { retryable: false },
    );
  }
}
