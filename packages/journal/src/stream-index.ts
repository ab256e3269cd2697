import type { LuactError } from '@luact/core';
import { corruptJournal } from './file-format.js';

/** Records of one stream held by one APPEND or SNAPSHOT frame of a log file. */
export interface Chunk {
  /** The number of the log segment or archive holding the frame. */
  readonly segment: number;
  /** Where the frame starts in its file. */
  readonly offset: number;
  /** The frame's size in bytes. */
  readonly size: number;
  /** The stream position of the frame's first record. */
  readonly first: number;
  /** How many of the frame's records belong to the stream (fewer once a repeat replaced some). */
  count: number;
}

/**
 * The chunk of a frame written at `placement` holding `count` records from `first` on. Built
 * field by field: a chunk spread from the placement got a hidden class of its own in V8 (four
 * maps and descriptor arrays per workflow, ~180 B each, kept as long as the stream is known).
 */
export function chunkAt(
  placement: { readonly segment: number; readonly offset: number; readonly size: number },
  first: number,
  count: number,
): Chunk {
  return {
    segment: placement.segment,
    offset: placement.offset,
    size: placement.size,
    first,
    count,
  };
}

/** What the file journal knows of a stream without reading its records. */
export interface StreamState {
  length: number;
  closed: boolean;
  /** The summary it was closed with, encoded: decoded only when closed streams are listed. */
  summary: Uint8Array | undefined;
  /** In stream order, back to back. */
  chunks: Chunk[];
  /** Set once the stream is known to be damaged: reading and appending fail with it. */
  damage: LuactError | undefined;
  /**
   * Frames are missing before the stream's next one: damage, unless a later snapshot of the
   * whole stream follows (reading the log, frames of a compacted segment are gone, and the
   * snapshot that replaced them comes after the stream's later frames).
   */
  gap: LuactError | undefined;
}

/**
 * The streams of a file journal and where their records lie: built by reading the log at open,
 * kept current by every append, close, remove and compaction. One rule applies frames, live and
 * on recovery alike: an APPEND at the stream's end extends it; one at an earlier position
 * replaces the records from there (the writer repeated an append whose first write failed and
 * then went on differently); one past the end leaves a gap; a SNAPSHOT replaces the stream.
 * It also knows which streams have records in each file, for compaction.
 */
export class StreamIndex {
  private readonly streams = new Map<string, StreamState>();
  private readonly members = new Map<number, Set<string>>();

  /** `fileOf` names the file of a segment or archive number, for damage reports. */
  constructor(private readonly fileOf: (segment: number) => string) {}

  get(id: string): StreamState | undefined {
    return this.streams.get(id);
  }

  entries(): IterableIterator<[string, StreamState]> {
    return this.streams.entries();
  }

  /** Streams that had records in file `segment` (some may have moved on since). */
  membersOf(segment: number): ReadonlySet<string> {
    return this.members.get(segment) ?? new Set();
  }

  /** Applies an APPEND frame. */
  append(id: string, chunk: Chunk): void {
    const stream = this.streams.get(id) ?? this.create(id);
    if (stream.damage || stream.gap) return;
    if (stream.closed) {
      stream.damage = this.damageAt(chunk, 'records appended to the stream after it was closed');
      return;
    }
    if (chunk.first > stream.length) {
      const missing = `records ${stream.length} to ${chunk.first - 1} of the stream are missing`;
      stream.gap = this.damageAt(chunk, missing);
      return;
    }
    if (chunk.first < stream.length) cutAt(stream, chunk.first);
    stream.chunks.push(chunk);
    stream.length = chunk.first + chunk.count;
    this.join(chunk.segment, id);
  }

  /** Applies a SNAPSHOT frame: `chunk` holds the whole stream now. */
  snapshot(id: string, chunk: Chunk): void {
    const stream = this.streams.get(id) ?? this.create(id);
    if (stream.damage) return;
    this.leaveAll(id, stream);
    stream.chunks = [chunk];
    stream.length = chunk.count;
    stream.gap = undefined;
    this.join(chunk.segment, id);
  }

  /** Applies a CLOSE frame: the first close of a stream with records counts. */
  close(id: string, summary: Uint8Array | undefined): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closed || stream.length === 0) return;
    stream.closed = true;
    stream.summary = summary;
  }

  remove(id: string): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    this.leaveAll(id, stream);
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
    this.streams.set(id, { ...emptyStream(), length, damage });
  }

  /** Forgets which streams had records in file `segment` (it is gone). */
  dropFile(segment: number): void {
    this.members.delete(segment);
  }

  private damageAt(chunk: Chunk, why: string): LuactError {
    return corruptJournal(this.fileOf(chunk.segment), chunk.offset, why);
  }

  private create(id: string): StreamState {
    const stream = emptyStream();
    this.streams.set(id, stream);
    return stream;
  }

  private join(segment: number, id: string): void {
    let ids = this.members.get(segment);
    if (!ids) {
      ids = new Set();
      this.members.set(segment, ids);
    }
    ids.add(id);
  }

  private leaveAll(id: string, stream: StreamState): void {
    for (const chunk of stream.chunks) this.members.get(chunk.segment)?.delete(id);
  }
}

function emptyStream(): StreamState {
  return {
    length: 0,
    closed: false,
    summary: undefined,
    chunks: [],
    damage: undefined,
    gap: undefined,
  };
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
