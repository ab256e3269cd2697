import { pack, unpack } from 'msgpackr';
import { checkId, closedError, lengthConflict } from './errors.js';
import type { Journal, JournalRecord, StreamInfo } from './journal.js';

interface Stream {
  readonly frames: Uint8Array[];
  closed: boolean;
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
    let stream = this.streams.get(id);
    const length = stream?.frames.length ?? 0;
    if (stream?.closed) throw closedError(id);
    if (length !== expected) {
      if (stream && length === expected + records.length && sameTail(stream, expected, records))
        return;
      throw lengthConflict(id, expected, length);
    }
    if (records.length === 0) return;
    stream ??= { frames: [], closed: false };
    this.streams.set(id, stream);
    for (const record of records) stream.frames.push(pack(record));
  }

  async read(id: string): Promise<JournalRecord[]> {
    return (this.streams.get(id)?.frames ?? []).map((frame) => unpack(frame) as JournalRecord);
  }

  async close(id: string): Promise<void> {
    const stream = this.streams.get(id);
    if (stream) stream.closed = true;
  }

  async open(): Promise<string[]> {
    return [...this.streams].filter(([, stream]) => !stream.closed).map(([id]) => id);
  }

  async list(): Promise<StreamInfo[]> {
    return [...this.streams].map(([id, stream]) => ({
      id,
      length: stream.frames.length,
      closed: stream.closed,
    }));
  }

  async remove(id: string): Promise<void> {
    this.streams.delete(id);
  }

  async shutdown(): Promise<void> {}
}

/** A repeated append that already happened: the stream ends with exactly these records. */
function sameTail(stream: Stream, expected: number, records: readonly JournalRecord[]): boolean {
  return records.every((record, index) => {
    const stored = stream.frames[expected + index];
    return stored !== undefined && Buffer.from(stored).equals(pack(record));
  });
}
