import { LuactError } from '@luact/core';
import { checkId, closedError } from './errors.js';
import type { ClosedStream, Journal, JournalRecord, StreamInfo } from './journal.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { countStoredAlready } from './repeat.js';

interface Stream {
  readonly records: Uint8Array[];
  closed: boolean;
  /** The encoded summary it was closed with. */
  summary?: Uint8Array;
}

/**
 * A journal in this process's memory: gone with it. For tests of the engine and embedded use
 * where durability does not matter. Records are stored encoded, as the other journals store
 * them, so what reads back is what a durable journal would give.
 */
export class MemoryJournal implements Journal {
  readonly kind = 'memory';
  readonly durability = 'memory (lost with the process)';
  private readonly streams = new Map<string, Stream>();

  async append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void> {
    checkId(id);
    const stream = this.streams.get(id);
    if (stream?.closed) throw closedError(id);
    const stored = stream?.records ?? [];
    const encoded = records.map(encodeRecord);
    const done = await countStoredAlready(id, expected, stored.length, encoded, async () =>
      stored.slice(expected),
    );
    if (done === encoded.length) return;
    if (stream) stream.records.push(...encoded.slice(done));
    else this.streams.set(id, { records: encoded, closed: false });
  }

  async read(id: string): Promise<JournalRecord[]> {
    checkId(id);
    return (this.streams.get(id)?.records ?? []).map((bytes, position) => {
      const decoded = decodeRecord(bytes);
      // Only records this journal encoded are in memory: failing to decode one is a bug.
      if (!decoded.ok) {
        throw new LuactError(
          'INTERNAL',
          `memory journal ${id} record ${position}: ${decoded.error}`,
        );
      }
      return decoded.value;
    });
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    checkId(id);
    const encoded = summary === undefined ? undefined : encodeRecord(summary);
    const stream = this.streams.get(id);
    if (!stream || stream.closed) return;
    stream.closed = true;
    if (encoded) stream.summary = encoded;
  }

  async open(): Promise<string[]> {
    return [...this.streams].filter(([, stream]) => !stream.closed).map(([id]) => id);
  }

  async list(): Promise<StreamInfo[]> {
    return [...this.streams].map(([id, stream]) => ({
      id,
      length: stream.records.length,
      closed: stream.closed,
    }));
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    return [...this.streams].map(([id, stream]) => ({ id, closed: stream.closed }));
  }

  async listClosed(): Promise<ClosedStream[]> {
    const closed: ClosedStream[] = [];
    for (const [id, stream] of this.streams) {
      if (!stream.closed) continue;
      const summary = stream.summary && decodeRecord(stream.summary);
      closed.push(summary?.ok ? { id, summary: summary.value } : { id });
    }
    return closed;
  }

  async remove(id: string): Promise<void> {
    checkId(id);
    this.streams.delete(id);
  }

  async shutdown(): Promise<void> {}
}
