import { closedError, countStoredAlready, lengthConflict } from '@luact/journal';
import type { JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { EntryKind } from './journal-chain.js';
import { entryHeaders } from './journal-entries.js';
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
 * the journal changed under the writer. Keeps this writer's view of every journal it writes:
 * its state from the last read and its own acknowledgements, and the last entry it wrote (is
 * it still on the winning chain?). Callers hold the journal's lock.
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

export class JournalWriter {
  private readonly states = new Map<string, JournalState>();
  /** The last entry this writer wrote to each journal: is it still on the winning chain? */
  private readonly written = new Map<string, number>();

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
      const outcome = await this.publishEntries(id, state, epoch, 'fence', [NOTHING]);
      if (outcome === 'stored') {
        return { result: { outcome: 'fenced', length: state.length }, reloaded };
      }
      this.forget(id);
      if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'fence it');
    }
  }

  /** Appends the close entry carrying `summary` (encoded, or empty), then the close marker. */
  async close(id: string, epoch: number, summary: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(id);
      if (state.phase === 'closed') return;
      if (state.phase === 'closing') return this.markClosed(id, state.summary);
      if (state.length === 0) return;
      checkWriter(id, state, epoch);
      const outcome = await this.publishEntries(id, state, epoch, 'close', [summary]);
      // The marker carries the summary: listing closed journals reads markers, not records.
      if (outcome === 'stored') return this.markClosed(id, summary);
      this.states.delete(id);
      if (attempt === MAX_ATTEMPTS) throw keptChanging(id, 'close it');
    }
  }

  async remove(id: string): Promise<void> {
    const { stream, subjects } = this.reader;
    this.forget(id);
    try {
      // Entries first: cut short between the two, a removed journal stays gone (its marker
      // then only refuses appends to the ID until it is removed again), never reappears open.
      await this.jsm.streams.purge(stream, { filter: subjects.entries(id) });
      await this.jsm.streams.purge(stream, { filter: subjects.closeMarker(id) });
    } catch (error) {
      throw natsFailure(this.connection, `remove journal ${id}`, error);
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
    const { subjects } = this.reader;
    const subject = subjects.entries(id);
    for (const payload of payloads) {
      const sent = entryHeaders(epoch, state.tip, kind);
      let seq: number | undefined;
      try {
        seq = await this.publisher.publish(
          subject,
          payload,
          sent,
          subjects.slotId(id, state.tip, epoch),
          state.lastSeq,
        );
      } catch (error) {
        this.states.delete(id); // the outcome is unknown: find out on the next call
        if (isWrongLastSequence(error)) return 'stale';
        throw this.publisher.failure(
          `${kind === 'record' ? 'append to' : kind} journal ${id}`,
          error,
        );
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

  private async markClosed(id: string, summary: Uint8Array): Promise<void> {
    this.forget(id); // a closed journal takes no appends: nothing to remember
    const marker = this.reader.subjects.closeMarker(id);
    try {
      await this.publisher.publish(marker, summary, headers(), `${marker}:${summary.length}`, 0);
    } catch (error) {
      // A marker already there is an earlier close whose answer was lost.
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
