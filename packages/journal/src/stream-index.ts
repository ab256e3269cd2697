import type { LuactError } from '@luact/core';
import type { JournalRecord } from './journal.js';

/** Records of one stream held by one APPEND frame of the log. */
export interface Chunk {
  readonly segment: number;
  /** Where the frame starts in its segment. */
  readonly offset: number;
  /** The frame's size in bytes. */
  readonly size: number;
  /** The stream position of the frame's first record. */
  readonly first: number;
  /** How many of the frame's records belong to the stream (fewer once a repeat replaced some). */
  count: number;
}

/** What the file journal knows of a stream without reading its records. */
export interface StreamState {
  length: number;
  closed: boolean;
  summary: JournalRecord | undefined;
  /** In stream order, back to back. */
  readonly chunks: Chunk[];
  /** Set once the stream is known to be damaged: reading and appending fail with it. */
  damage: LuactError | undefined;
}

/**
 * The streams of a file journal and where their records lie in the log: built by reading the
 * log at open, kept current by every append, close and remove. One rule applies frames, live
 * and on recovery alike: an APPEND at the stream's end extends it; one at an earlier position
 * replaces the records from there (the writer repeated an append whose first write failed and
 * then went on differently); one past the end means frames are missing: damage.
 */
export class StreamIndex {
  private readonly streams = new Map<string, StreamState>();

  get(id: string): StreamState | undefined {
    return this.streams.get(id);
  }

  entries(): IterableIterator<[string, StreamState]> {
    return this.streams.entries();
  }

  /** Applies an APPEND frame; `damage` makes the error for a frame that cannot follow. */
  append(id: string, chunk: Chunk, damage: (why: string) => LuactError): void {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = { length: 0, closed: false, summary: undefined, chunks: [], damage: undefined };
      this.streams.set(id, stream);
    }
    if (stream.damage) return;
    if (stream.closed) {
      stream.damage = damage('records appended to the stream after it was closed');
      return;
    }
    if (chunk.first > stream.length) {
      stream.damage = damage(
        `records ${stream.length} to ${chunk.first - 1} of the stream are missing`,
      );
      return;
    }
    if (chunk.first < stream.length) cutAt(stream, chunk.first);
    stream.chunks.push(chunk);
    stream.length = chunk.first + chunk.count;
  }

  /** Applies a CLOSE frame: the first close of a stream with records counts. */
  close(id: string, summary: JournalRecord | undefined): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closed || stream.length === 0) return;
    stream.closed = true;
    stream.summary = summary;
  }

  remove(id: string): void {
    this.streams.delete(id);
  }

  /** Marks a stream damaged: a read found its frames unsound, or recovery a frame of it. */
  damaged(id: string, damage: LuactError): void {
    const stream = this.streams.get(id);
    if (stream) stream.damage ??= damage;
    else this.addDamaged(id, 0, damage);
  }

  /** Marks every open stream damaged: damage in the log that names no stream may be theirs. */
  damageOpen(damage: LuactError): void {
    for (const stream of this.streams.values()) if (!stream.closed) stream.damage ??= damage;
  }

  /** A stream known only from damage (a legacy file that could not be read). */
  addDamaged(id: string, length: number, damage: LuactError): void {
    this.streams.set(id, { length, closed: false, summary: undefined, chunks: [], damage });
  }
}

/** Drops the stream's records from position `position` on. */
function cutAt(stream: StreamState, position: number): void {
  const { chunks } = stream;
  while (chunks.length > 0) {
    const last = chunks[chunks.length - 1] as Chunk;
    if (last.first >= position) chunks.pop();
    else {
      last.count = Math.min(last.count, position - last.first);
      break;
    }
  }
  stream.length = position;
}
