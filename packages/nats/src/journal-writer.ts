import { LuactError } from '@luact/core';
import { closedError, countStoredAlready, lengthConflict } from '@luact/journal';
import type { JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { CloseMarkers } from './close-markers.js';
import {
  entryHeaders,
  type OutgoingEntry,
  recordEntries,
  storedRecords,
} from './journal-entries.js';
import type { EntryPublisher } from './journal-publish.js';
import type { JournalReader } from './journal-reader.js';
import {
  checkWriter,
  type JournalState,
  keptChanging,
  type OpenState,
  type Snapshot,
  stateOf,
} from './journal-state.js';
import { isWrongLastSequence, natsFailure } from './nats-errors.js';

/**
 * The fenced write path: appends, fences and closes at an epoch, each entry following the
 * chain's tip and expecting the subject's last sequence, looked at again (a few times) when
 * the journal changed under the writer. An append is one entry (its records packed), or a few
 * when one would not fit in a NATS message. Keeps this writer's view of every journal it
 * writes: its state from the last read and its own acknowledgements, and the last entry it
 * wrote (is it still on the winning chain?). Callers hold the journal's lock.
 */

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
export const NOTHING = new Uint8Array(0);
/**
 * Room left in a NATS message for an entry's headers: the chain facts, the message ID (up to
 * ~700 bytes for the longest journal ID) and the expectation, with margin.
 */
const HEADER_ROOM = 2_048;
/** The server's largest message when it has not said (the nats-server default). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class JournalWriter {
  private readonly states = new Map<string, JournalState>();
  /** The last entry this writer wrote to each journal: is it still on the winning chain? */
  private readonly written = new Map<string, number>();
  private readonly markers = new CloseMarkers((id, summary) => this.publishMarker(id, summary));

  constructor(
    private readonly connection: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly reader: JournalReader,
    private readonly publisher: EntryPublisher,
  ) {}

  /** Reads journal `id` afresh, remembering what it found. */
  async load(id: string): Promise<Snapshot> {
    return (await this.loadState(id)).snapshot;
  }

  /** Remembers a journal read elsewhere, unless this writer follows it already (its own writes keep that view). */
  learn(snapshot: Snapshot): void {
    if (!this.states.has(snapshot.id)) this.remember(snapshot);
  }

  async append(
    id: string,
    epoch: number,
    expected: number,
    encoded: readonly Uint8Array[],
  ): Promise<void> {
    if (expected === 0 && encoded.length > 0 && !this.states.has(id)) {
      if ((await this.appendToNew(id, epoch, encoded)) === 'stored') return;
      this.states.delete(id);
    }
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(id);
      if (state.phase !== 'open') throw closedError(id);
      checkWriter(id, state, epoch);
      const done = await countStoredAlready(id, expected, state.length, encoded, async () =>
        storedRecords(id, (await this.load(id)).chain, expected),
      );
      if (done === encoded.length) return;
      const entries = this.entriesFor(id, encoded.slice(done), expected + done);
      const outcome = await this.publishEntries(id, state, epoch, entries);
      if (outcome === 'stored') return;
      // The journal is not what this writer thought: look again and let the rules decide.
      this.states.delete(id);
      if (attempt === MAX_ATTEMPTS) throw lengthConflict(id, expected, state.length);
    }
  }

  /**
   * Fences journal `id` at `epoch`, starting from `known` if given (else from what this writer
   * knows); `reloaded`: the journal changed since the state it started from.
   */
  async fence(
    id: string,
    epoch: number,
    known?: Snapshot,
  ): Promise<{ result: FenceResult; reloaded: boolean }> {
    // A fence starts this owner's line: what this writer wrote before no longer matters.
    this.written.delete(id);
    if (known !== undefined) this.remember(known);
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
      const fence: OutgoingEntry = { kind: 'fence', payload: NOTHING, count: 0 };
      const outcome = await this.publishEntries(id, state, epoch, [fence]);
      if (outcome === 'stored') {
        return { result: { outcome: 'fenced', length: state.length }, reloaded };
      }
      this.forget(id);
      if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'fence it');
    }
  }

  /**
   * Appends the close entry carrying `summary` (encoded, or empty), then sends the close marker
   * (close-markers.ts: the close is decided once the entry is stored). A close cut short
   * before (an entry without its marker) is finished here, waiting for the marker.
   */
  async close(id: string, epoch: number, summary: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(id);
      if (state.phase === 'closed') return;
      if (state.phase === 'closing') {
        this.forget(id);
        return this.publishMarker(id, state.summary);
      }
      if (state.length === 0) return;
      checkWriter(id, state, epoch);
      const close: OutgoingEntry = { kind: 'close', payload: summary, count: 0 };
      const outcome = await this.publishEntries(id, state, epoch, [close]);
      if (outcome === 'stored') {
        this.forget(id); // a closed journal takes no appends: nothing to remember
        // The marker carries the summary: listing closed journals reads markers, not records.
        this.markers.send(id, summary);
        return;
      }
      this.states.delete(id);
      if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'close it');
    }
  }

  /** Removes journal `id`: its entries, then its close marker. */
  async remove(id: string): Promise<void> {
    const { stream, subjects } = this.reader;
    this.forget(id);
    try {
      // Entries first: cut short between the two, a removed journal stays gone, never
      // reappears open (the marker left is purged by the ID's next first append: appendToNew).
      await this.jsm.streams.purge(stream, { filter: subjects.entries(id) });
      await this.purgeMarker(id);
    } catch (error) {
      throw natsFailure(this.connection, `remove journal ${id}`, error);
    }
  }

  /**
   * The first append to a journal this writer does not know, expecting it empty: published at
   * once as the journal's first entry (expected subject sequence 0) rather than after a look
   * at the subject, which costs a round trip per new journal. Safe: if the subject holds
   * anything, the server refuses the publish (or answers a duplicate for this very entry), and
   * the caller looks and applies the rules as for any stale write. What a publish cannot check
   * is the close marker, on its own subject: it is looked up alongside. A marker without
   * entries is what a removal cut short leaves: the removal is finished (the marker purged),
   * and the append stands.
   */
  private async appendToNew(
    id: string,
    epoch: number,
    encoded: readonly Uint8Array[],
  ): Promise<'stored' | 'stale'> {
    const entries = this.entriesFor(id, encoded, 0);
    const state: OpenState = {
      phase: 'open',
      length: 0,
      tip: 0,
      lastSeq: 0,
      fencedAt: -1,
      lost: undefined,
    };
    this.states.set(id, state);
    let outcome: 'stored' | 'stale';
    let marked: boolean;
    try {
      [outcome, marked] = await Promise.all([
        this.publishEntries(id, state, epoch, entries),
        this.reader.hasCloseMarker(id),
      ]);
    } catch (error) {
      this.states.delete(id); // the marker is unknown: the next call looks at everything
      throw error;
    }
    if (!marked) return outcome;
    if (outcome === 'stale') {
      this.forget(id); // entries and a marker: a closed journal
      throw closedError(id);
    }
    // No entry before this one, and a marker: what a removal cut short leaves (its entries
    // purged, not its marker). That removal is finished now, and the new journal stands: an ID
    // is taken again after its removal (a workflow host numbers runs from 1 again once its
    // retention removed them all), and nothing else would ever remove such a marker.
    try {
      await this.purgeMarker(id);
    } catch (error) {
      this.states.delete(id); // the next call looks at everything, and purges again
      throw natsFailure(this.connection, `finish removing journal ${id}`, error);
    }
    return outcome;
  }

  /**
   * Publishes `entries` one after the other, each following the one before: each must name the
   * sequence the server gave the previous one, so they cannot be pipelined. `stale`: the
   * subject changed under this writer (or another writer of this epoch took the place); the
   * caller looks again.
   */
  private async publishEntries(
    id: string,
    state: OpenState,
    epoch: number,
    entries: readonly OutgoingEntry[],
  ): Promise<'stored' | 'stale'> {
    const { subjects } = this.reader;
    const subject = subjects.entries(id);
    for (const entry of entries) {
      const sent = entryHeaders(epoch, state.tip, entry);
      let seq: number | undefined;
      try {
        seq = await this.publisher.publish(
          subject,
          entry.payload,
          sent,
          subjects.slotId(id, state.tip, epoch),
          state.lastSeq,
        );
      } catch (error) {
        this.states.delete(id); // the outcome is unknown: find out on the next call
        if (isWrongLastSequence(error)) return 'stale';
        throw this.publisher.failure(`${ACTIONS[entry.kind]} journal ${id}`, error);
      }
      if (seq === undefined) return 'stale';
      state.tip = seq;
      state.lastSeq = seq;
      state.length += entry.count;
      if (entry.kind === 'fence') state.fencedAt = epoch;
      this.written.set(id, seq);
    }
    return 'stored';
  }

  /**
   * The entries storing `encoded`, the records of journal `id` from position `first` on, each
   * fitting the largest message the server takes now (it tells each connection its limit). A
   * record too large for any message is refused before anything of its append is stored.
   */
  private entriesFor(id: string, encoded: readonly Uint8Array[], first: number): OutgoingEntry[] {
    const limit = (this.connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM;
    const position = encoded.findIndex((record) => record.byteLength > limit);
    if (position >= 0) {
      const bytes = encoded[position]?.byteLength;
      throw new LuactError(
        'INVALID',
        `journal ${id}: record ${first + position} is ${bytes} bytes encoded, more than a journal entry can hold on this server (${limit} bytes: its max_payload less ${HEADER_ROOM} for headers); refused before publishing any of this append`,
        { retryable: false, details: { stream: id, record: first + position, bytes, limit } },
      );
    }
    return recordEntries(encoded, limit);
  }

  /** Waits for the close markers this writer sent (see CloseMarkers.settle). */
  settleMarkers(): Promise<void> {
    return this.markers.settle();
  }

  /** Waits for the close markers on their way (at shutdown: a failed one is not sent again). */
  markersIdle(): Promise<void> {
    return this.markers.idle();
  }

  /** Purges journal `id`'s close marker, once one still on its way has landed (or failed). */
  private async purgeMarker(id: string): Promise<void> {
    await this.markers.drop(id);
    const { stream, subjects } = this.reader;
    await this.jsm.streams.purge(stream, { filter: subjects.closeMarker(id) });
  }

  private async publishMarker(id: string, summary: Uint8Array): Promise<void> {
    const marker = this.reader.subjects.closeMarker(id);
    let stored: number | undefined;
    try {
      stored = await this.publisher.publish(
        marker,
        summary,
        headers(),
        `${marker}:${summary.length}`,
        0,
      );
    } catch (error) {
      if (!isWrongLastSequence(error)) throw this.publisher.failure(`close journal ${id}`, error);
    }
    if (stored === undefined) await this.correctMarker(id, marker);
  }

  /**
   * A marker is there already. Mostly an earlier attempt of this close whose answer was lost.
   * But a zombie whose close lost a fork sends its marker too (see isClosed), with the summary
   * of its own ending: the winning close's summary replaces it, so that listings and the
   * retention sweep read how the run really ended. Whoever gets here (a zombie too) writes
   * the winner's summary, never its own.
   */
  private async correctMarker(id: string, marker: string): Promise<void> {
    try {
      const { snapshot, marker: found } = await this.reader.journalAndMarker(id);
      const winner = snapshot.chain.close?.data;
      if (found === null || winner === undefined || sameBytes(found.data, winner)) return;
      await this.publisher.publish(marker, winner, headers(), `${marker}:${found.seq}`, found.seq);
    } catch (error) {
      // Replaced meanwhile by another writer doing the same.
      if (!isWrongLastSequence(error)) throw this.publisher.failure(`close journal ${id}`, error);
    }
  }

  /** This writer's view of journal `id`: cached, else two lookups and, if it has entries, a read. */
  private async state(id: string): Promise<JournalState> {
    return this.states.get(id) ?? (await this.loadState(id)).state;
  }

  private async loadState(id: string): Promise<{ snapshot: Snapshot; state: JournalState }> {
    const snapshot = await this.reader.journal(id);
    return { snapshot, state: this.remember(snapshot) };
  }

  private remember(snapshot: Snapshot): JournalState {
    const state = stateOf(snapshot, this.written.get(snapshot.id));
    this.states.set(snapshot.id, state);
    return state;
  }

  /** Drops all this writer knows of journal `id`. */
  private forget(id: string): void {
    this.states.delete(id);
    this.written.delete(id);
  }
}

/** What a failed publish of each kind of entry was doing, for its error. */
const ACTIONS: Readonly<Record<OutgoingEntry['kind'], string>> = {
  record: 'append to',
  records: 'append to',
  fence: 'fence',
  close: 'close',
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
