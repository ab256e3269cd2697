import fs from 'node:fs';
import path from 'node:path';
import { fileError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import { segmentFileName } from './log-writer.js';
import type { Chunk } from './stream-index.js';
import { frameAt, recordsIn } from './wal-format.js';

/**
 * Reads frames out of the log's segments and archives. A file's descriptor stays open once
 * used: there are few of them, and a read of a stream touches each of its frames. Reads are small and
 * served from the page cache, so they are synchronous (see fd-io.ts).
 */
/** Descriptors kept open at most: archives pile up, one per compaction. */
const MAX_OPEN = 64;

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
    const directory = this.archives.has(segment) ? this.archiveDir : this.logDir;
    return path.join(directory, segmentFileName(segment));
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

  /** The encoded records `chunk` holds for stream `id`, checked against both checksums. */
  records(id: string, chunk: Chunk): Buffer[] {
    const file = this.path(chunk.segment);
    const bytes = Buffer.allocUnsafe(chunk.size);
    let read: number;
    try {
      read = fs.readSync(this.fd(chunk.segment), bytes, 0, chunk.size, chunk.offset);
    } catch (error) {
      throw fileError(file, 'read', error);
    }
    const frame = read === chunk.size ? frameAt(bytes, 0) : undefined;
    if (!frame || frame.id !== id)
      throw corruptJournal(file, chunk.offset, 'frame header checksum mismatch');
    if (frame.damaged) throw corruptJournal(file, chunk.offset, 'checksum mismatch');
    const records = recordsIn(bytes.subarray(frame.payloadAt), frame.operation, file, chunk.offset);
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
