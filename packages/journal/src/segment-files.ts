import fs from 'node:fs';
import path from 'node:path';
import { fileError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import { segmentFileName } from './log-writer.js';
import type { Chunk } from './stream-index.js';
import { frameAt, recordsIn } from './wal-format.js';

/**
 * Reads frames out of the log's segments. A segment's descriptor stays open once used: a log
 * has few segments, and a read of a stream touches each of its frames. Reads are small and
 * served from the page cache, so they are synchronous (see fd-io.ts).
 */
export class SegmentFiles {
  private readonly open = new Map<number, number>();

  constructor(private readonly logDir: string) {}

  path(segment: number): string {
    return path.join(this.logDir, segmentFileName(segment));
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
    const records = recordsIn(bytes.subarray(frame.payloadAt), file, chunk.offset);
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

  private fd(segment: number): number {
    let fd = this.open.get(segment);
    if (fd === undefined) {
      fd = fs.openSync(this.path(segment), 'r');
      this.open.set(segment, fd);
    }
    return fd;
  }
}
