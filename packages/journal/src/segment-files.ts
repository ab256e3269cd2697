import fs from 'node:fs';
import path from 'node:path';
import { fileError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import { segmentFileName } from './log-writer.js';
import type { Chunk } from './stream-index.js';
import { frameAt, recordsIn } from './wal-format.js';

/** The index beside archive file `archive` (see LogCompactor.archive). */
export function archiveIndexPath(archive: string): string {
  return archive.replace(/\.wal$/, '.idx');
}

/** Descriptors kept open at most: archives pile up, one per compaction. */
const MAX_OPEN = 64;

/** Frames this close are read together: reading what lies between costs less than a read. */
const NEARBY_BYTES = 64 * 1024;

function nearby(a: Chunk, b: Chunk): boolean {
  const gap = b.offset - (a.offset + a.size);
  return a.segment === b.segment && gap >= 0 && gap <= NEARBY_BYTES;
}

/**
 * Reads frames out of the log's segments and archives. A file's descriptor stays open once
 * used (at most MAX_OPEN), and a read of a stream touches each of its frames. Reads are small
 * and served from the page cache, so they are synchronous (see fd-io.ts).
 */
export class SegmentFiles {
  private readonly open = new Map<number, number>();
  private readonly archives: Set<number>;

  constructor(
    private readonly logDir: string,
    private readonly archiveDir: string,
    archives: Iterable<number>,
  ) {
    this.archives = new Set(archives);
  }

  /** The file of log segment or archive `segment` (they share one sequence of numbers). */
  path(segment: number): string {
    if (this.archives.has(segment)) return this.pathOfArchive(segment);
    return path.join(this.logDir, segmentFileName(segment));
  }

  /** Where archive `segment` goes. */
  pathOfArchive(segment: number): string {
    return path.join(this.archiveDir, segmentFileName(segment));
  }

  isArchive(segment: number): boolean {
    return this.archives.has(segment);
  }

  /** File `segment` is an archive now. */
  addArchive(segment: number): void {
    this.archives.add(segment);
  }

  /** The archives, oldest first. */
  archiveNumbers(): number[] {
    return [...this.archives].sort((a, b) => a - b);
  }

  /** Archive `segment` is deleted. */
  dropArchive(segment: number): void {
    this.forget(segment);
    this.archives.delete(segment);
  }

  /**
   * The encoded records `chunks` (a stream's, in order) hold for stream `id`, each frame checked
   * against both checksums. Frames close together in one file are read with one read: a
   * stream's frames lie among other streams' in the log, and a read per frame would cost a
   * system call per append.
   */
  records(id: string, chunks: readonly Chunk[]): Buffer[] {
    const records: Buffer[] = [];
    for (let first = 0; first < chunks.length; ) {
      let last = first;
      while (last + 1 < chunks.length && nearby(chunks[last] as Chunk, chunks[last + 1] as Chunk))
        last++;
      const span = this.read(chunks[first] as Chunk, chunks[last] as Chunk);
      for (let index = first; index <= last; index++) {
        const chunk = chunks[index] as Chunk;
        for (const record of this.frameRecords(id, chunk, span.bytes, chunk.offset - span.offset))
          records.push(record);
      }
      first = last + 1;
    }
    return records;
  }

  /** The bytes from `from`'s frame to the end of `to`'s, both in one file. */
  private read(from: Chunk, to: Chunk): { bytes: Buffer; offset: number } {
    const length = to.offset + to.size - from.offset;
    const bytes = Buffer.allocUnsafe(length);
    let read = 0;
    try {
      const fd = this.fd(from.segment);
      while (read < length) {
        const count = fs.readSync(fd, bytes, read, length - read, from.offset + read);
        if (count === 0) break;
        read += count;
      }
    } catch (error) {
      throw fileError(this.path(from.segment), 'read', error);
    }
    return { bytes: bytes.subarray(0, read), offset: from.offset };
  }

  private frameRecords(id: string, chunk: Chunk, bytes: Buffer, at: number): Buffer[] {
    const frame = at + chunk.size <= bytes.length ? frameAt(bytes, at) : undefined;
    if (!frame || frame.id !== id || frame.size !== chunk.size)
      throw corruptJournal(
        this.path(chunk.segment),
        chunk.offset,
        'frame header checksum mismatch',
      );
    if (frame.damaged)
      throw corruptJournal(this.path(chunk.segment), chunk.offset, 'checksum mismatch');
    const payload = bytes.subarray(at + frame.payloadAt, at + frame.size);
    const records = recordsIn(
      payload,
      frame.operation,
      () => this.path(chunk.segment),
      chunk.offset,
    );
    return records.length > chunk.count ? records.slice(0, chunk.count) : records;
  }

  /** Closes the descriptor of a segment about to be deleted (reads reopen it if it is not). */
  forget(segment: number): void {
    const fd = this.open.get(segment);
    if (fd === undefined) return;
    this.open.delete(segment);
    fs.closeSync(fd);
  }

  closeAll(): void {
    for (const segment of [...this.open.keys()]) this.forget(segment);
  }

  /** The file's descriptor, kept open (most recently used last, at most MAX_OPEN of them). */
  private fd(segment: number): number {
    let fd = this.open.get(segment);
    if (fd !== undefined) {
      this.open.delete(segment);
    } else {
      fd = fs.openSync(this.path(segment), 'r');
      if (this.open.size >= MAX_OPEN) {
        const [oldest] = this.open.keys();
        if (oldest !== undefined) this.forget(oldest);
      }
    }
    this.open.set(segment, fd);
    return fd;
  }
}
