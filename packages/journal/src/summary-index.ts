import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isMissing, readFileAt, renameFile, truncateFile, writeAt } from './fd-io.js';
import { fileError } from './file-errors.js';
import { decodeHeader, encodeFrames, encodeHeader, scanFrames } from './file-format.js';
import type { FilePool } from './file-pool.js';
import type { JournalRecord } from './journal.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import type { SyncPolicy } from './sync-policy.js';

/** The name in the index file's header (its file name has no `.jnl`: it is no stream). */
const HEADER_NAME = 'closed-stream summaries';
const CREATING_SUFFIX = '.tmp';

/** Where the next frame goes; `damaged` when frames written there could never be read back. */
type WriteState = { end: number; size: number } | 'damaged';

/**
 * The summaries a file journal's streams were closed with, in one file of the journal format:
 * one frame `{ id, summary? }` per close, so listing thousands of closed streams reads one file
 * instead of thousands. A later frame for an ID replaces earlier ones (a stream removed, then
 * closed again). The index only speeds up listing: a torn final frame is cut off at the next
 * write, and past damage nothing more is written or read, so the streams it no longer covers
 * are listed without a summary while their own files stay intact.
 */
export class SummaryIndex {
  private state: WriteState | undefined;
  /** Reads and writes of the index, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly pool: FilePool,
    private readonly sync: SyncPolicy,
  ) {}

  /** Notes that stream `id` was closed with `summary` (or with none). */
  add(id: string, summary: JournalRecord | undefined): Promise<void> {
    const frame = encodeFrames([encodeRecord(summary === undefined ? { id } : { id, summary })]);
    return this.serially(() => this.write(frame));
  }

  /** The latest summary noted for each stream (undefined: closed without one). */
  read(): Promise<Map<string, JournalRecord | undefined>> {
    return this.serially(async () => {
      const summaries = new Map<string, JournalRecord | undefined>();
      const bytes = await this.readBytes();
      const start = bytes && this.headerEnd(bytes);
      if (!bytes || start === undefined) return summaries;
      for (const frame of scanFrames(bytes, start).frames) {
        const decoded = decodeRecord(frame.payload);
        if (!decoded.ok || typeof decoded.value.id !== 'string') continue;
        const summary = decoded.value.summary;
        summaries.set(
          decoded.value.id,
          typeof summary === 'object' && summary !== null && !Array.isArray(summary)
            ? (summary as JournalRecord)
            : undefined,
        );
      }
      return summaries;
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => {});
    return result;
  }

  private async write(frame: Buffer): Promise<void> {
    this.state ??= await this.load();
    const state = this.state;
    if (state === 'damaged') return;
    try {
      await this.pool.use(this.file, 'r+', async (fd) => {
        if (state.size > state.end) await truncateFile(fd, state.end);
        await writeAt(fd, frame, state.end);
        await this.sync.written(this.file, fd);
      });
    } catch (error) {
      this.state = undefined; // part of the frame may have landed: look again next time
      throw fileError(this.file, 'append to', error);
    }
    state.end += frame.length;
    state.size = state.end;
  }

  /** Where the index ends, creating it (complete with its header, or not at all) if missing. */
  private async load(): Promise<WriteState> {
    const bytes = await this.readBytes();
    if (!bytes) return this.create();
    const start = this.headerEnd(bytes);
    if (start === undefined) return 'damaged';
    const scan = scanFrames(bytes, start);
    return scan.damage ? 'damaged' : { end: scan.end, size: bytes.length };
  }

  private async create(): Promise<WriteState> {
    const header = encodeHeader(HEADER_NAME);
    const creating = `${this.file}${CREATING_SUFFIX}`;
    try {
      await this.pool.use(creating, 'w+', async (fd) => {
        await writeAt(fd, header, 0);
        await this.sync.written(creating, fd);
      });
      await renameFile(creating, this.file);
    } catch (error) {
      this.pool.retire(creating);
      this.sync.forget(creating);
      await rm(creating, { force: true });
      throw fileError(this.file, 'create', error);
    }
    this.pool.moved(creating, this.file);
    this.sync.moved(creating, this.file);
    await this.sync.directoryChanged(path.dirname(this.file));
    return { end: header.length, size: header.length };
  }

  private async readBytes(): Promise<Buffer | undefined> {
    try {
      return await this.pool.use(this.file, 'r+', (fd) => readFileAt(fd));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw fileError(this.file, 'read', error);
    }
  }

  /** Where the frames start; undefined when the header is not the index's. */
  private headerEnd(bytes: Buffer): number | undefined {
    try {
      const header = decodeHeader(bytes, this.file);
      return header.id === HEADER_NAME ? header.end : undefined;
    } catch {
      return undefined;
    }
  }
}
