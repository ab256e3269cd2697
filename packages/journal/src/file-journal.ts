import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { checkId, closedError } from './errors.js';
import { isMissing, pathExists, readFileAt, renameFile, truncateFile, writeAt } from './fd-io.js';
import { fileError, shutDownError } from './file-errors.js';
import {
  corruptJournal,
  decodeHeader,
  encodeFrames,
  encodeHeader,
  MAX_HEADER_BYTES,
} from './file-format.js';
import { fileNameOf, idOfFileName, isJournalFileName } from './file-names.js';
import { FilePool } from './file-pool.js';
import type { ClosedStream, Journal, JournalRecord, StreamInfo } from './journal.js';
import { KeyedLock } from './keyed-lock.js';
import { encodeRecord } from './record-codec.js';
import { countStoredAlready } from './repeat.js';
import { readStreamFile, recordsOf, type StreamFile } from './stream-file.js';
import { SummaryIndex } from './summary-index.js';
import {
  DEFAULT_SYNC_INTERVAL_MS,
  describeDurability,
  type FsyncPolicy,
  SyncPolicy,
} from './sync-policy.js';

export interface FileJournalOptions {
  /** The journal's directory, created if missing. One FileJournal per directory at a time. */
  readonly dir: string;
  /** When appends reach the disk: see `FsyncPolicy`. */
  readonly fsync: FsyncPolicy;
  /** `batch` only: how often written files are fsynced. Default 100 ms. */
  readonly syncIntervalMs?: number;
  /** The most file descriptors kept open at once. Default 256. */
  readonly maxOpenFiles?: number;
}

const CLOSED_DIR = 'closed';
/** In CLOSED_DIR: the summaries closed streams were closed with. */
const SUMMARY_INDEX = 'summaries.idx';
const CREATING_SUFFIX = '.tmp';
const DEFAULT_MAX_OPEN_FILES = 256;
/** The lock key of `open()` and `list()`, so shutdown waits for them: no stream has this ID. */
const DIRECTORY_SCAN = '';

/** Where an open stream's next frame goes: known once the stream was read or appended to. */
interface WritePosition {
  readonly path: string;
  /** Records in the stream. */
  length: number;
  /** Where the intact frames end. */
  end: number;
  /** Bytes in the file: beyond `end` lies a torn final frame, cut off before the next write. */
  size: number;
}

type Location =
  | { readonly state: 'open'; readonly position: WritePosition }
  | { readonly state: 'closed' | 'absent' };

/**
 * A journal of append-only files, one per stream, under one directory (docs/concepts/journals.md):
 * the single-node journal. Each file holds a header with the stream ID and checksummed frames (see
 * file-format.ts); closing a stream moves its file into `closed/`, so `open()` only lists a
 * directory. This journal is the single writer of its streams: it keeps each open stream's length
 * and end in memory after the first read or append, so an append is one write.
 */
export class FileJournal implements Journal {
  readonly kind = 'file';
  readonly durability: string;

  private readonly closedDir: string;
  private readonly pool: FilePool;
  private readonly sync: SyncPolicy;
  private readonly lock = new KeyedLock();
  private readonly positions = new Map<string, WritePosition>();
  private readonly summaries: SummaryIndex;
  private stopped: Promise<void> | undefined;

  static async open(options: FileJournalOptions): Promise<FileJournal> {
    const syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    const maxOpenFiles = options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES;
    checkPositive('syncIntervalMs', syncIntervalMs);
    checkPositive('maxOpenFiles', maxOpenFiles);
    const durability = describeDurability(options.fsync, syncIntervalMs); // checks the policy
    const dir = path.resolve(options.dir);
    try {
      await mkdir(path.join(dir, CLOSED_DIR), { recursive: true });
      await removeUnfinishedCreations(dir);
    } catch (error) {
      throw fileError(dir, 'open the directory of', error);
    }
    return new FileJournal(dir, durability, options.fsync, syncIntervalMs, maxOpenFiles);
  }

  private constructor(
    private readonly dir: string,
    durability: string,
    fsync: FsyncPolicy,
    syncIntervalMs: number,
    maxOpenFiles: number,
  ) {
    this.durability = durability;
    this.closedDir = path.join(dir, CLOSED_DIR);
    this.pool = new FilePool(maxOpenFiles);
    this.sync = new SyncPolicy(fsync, syncIntervalMs, this.pool);
    this.summaries = new SummaryIndex(
      path.join(this.closedDir, SUMMARY_INDEX),
      this.pool,
      this.sync,
    );
  }

  async append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = records.map(encodeRecord);
    return this.lock.run(id, () => this.appendEncoded(id, expected, encoded));
  }

  async read(id: string): Promise<JournalRecord[]> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const file =
        (await this.readAndRemember(id)) ??
        (await readStreamFile(this.pool, this.closedPath(id), id));
      return file ? recordsOf(file) : [];
    });
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const from = this.openPath(id);
      const to = this.closedPath(id);
      let open: boolean;
      try {
        open = await pathExists(from);
      } catch (error) {
        throw fileError(from, 'look for', error);
      }
      if (!open) return; // closed already, or never had records
      // The summary first: a crash before the rename leaves the stream open, to be closed again.
      await this.summaries.add(id, summary);
      try {
        await renameFile(from, to);
      } catch (error) {
        if (isMissing(error)) return; // closed already, or never had records
        throw fileError(from, 'close', error);
      }
      this.positions.delete(id);
      this.pool.retire(from);
      this.sync.moved(from, to);
      await this.sync.directoryChanged(this.dir);
      await this.sync.directoryChanged(this.closedDir);
    });
  }

  async open(): Promise<string[]> {
    this.checkRunning();
    return this.lock.run(DIRECTORY_SCAN, async () => {
      const ids = await Promise.all(
        (await this.journalFiles(this.dir)).map(
          async (name) =>
            idOfFileName(name) ?? (await this.idFromHeader(path.join(this.dir, name))),
        ),
      );
      return ids.filter((id) => id !== undefined);
    });
  }

  async list(): Promise<StreamInfo[]> {
    this.checkRunning();
    return this.lock.run(DIRECTORY_SCAN, async () => {
      const [open, closed] = await Promise.all([
        this.listDirectory(this.dir, false),
        this.listDirectory(this.closedDir, true),
      ]);
      // A stream closed while the directories were listed can show up in both: it is closed.
      const closedIds = new Set(closed.map((stream) => stream.id));
      return [...open.filter((stream) => !closedIds.has(stream.id)), ...closed];
    });
  }

  async listClosed(): Promise<ClosedStream[]> {
    this.checkRunning();
    return this.lock.run(DIRECTORY_SCAN, async () => {
      const [closed, summaries] = await Promise.all([
        this.idsIn(this.closedDir, true),
        this.summaries.read(),
      ]);
      return closed.map(({ id }) => {
        const summary = summaries.get(id);
        return summary === undefined ? { id } : { id, summary };
      });
    });
  }

  async remove(id: string): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      this.positions.delete(id);
      for (const [directory, file] of [
        [this.dir, this.openPath(id)],
        [this.closedDir, this.closedPath(id)],
      ] as const) {
        this.pool.retire(file);
        this.sync.forget(file);
        try {
          await unlink(file);
        } catch (error) {
          if (isMissing(error)) continue;
          throw fileError(file, 'remove', error);
        }
        await this.sync.directoryChanged(directory);
      }
    });
  }

  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      await this.lock.idle();
      try {
        await this.sync.flush();
      } finally {
        this.sync.stop();
        await this.pool.closeAll();
      }
    })();
    return this.stopped;
  }

  private async appendEncoded(
    id: string,
    expected: number,
    encoded: readonly Uint8Array[],
  ): Promise<void> {
    const location = await this.locate(id);
    if (location.state === 'closed') throw closedError(id);
    const position = location.state === 'open' ? location.position : undefined;
    const done = await countStoredAlready(id, expected, position?.length ?? 0, encoded, async () =>
      this.storedFrom(id, expected),
    );
    if (done === encoded.length) return;
    const frames = encodeFrames(done === 0 ? encoded : encoded.slice(done));
    if (position) await this.write(id, position, frames, encoded.length - done);
    else await this.create(id, frames, encoded.length - done);
  }

  /** Where stream `id` is: open (with its write position), closed, or absent. */
  private async locate(id: string): Promise<Location> {
    const known = this.positions.get(id);
    if (known) return { state: 'open', position: known };
    const file = await this.readAndRemember(id);
    const position = this.positions.get(id);
    if (position) return { state: 'open', position };
    if (file) throw damageOf(file); // appending after damage would bury it
    const closed = this.closedPath(id);
    try {
      return { state: (await pathExists(closed)) ? 'closed' : 'absent' };
    } catch (error) {
      throw fileError(closed, 'look for', error);
    }
  }

  /**
   * Reads the open file of stream `id` and, unless it is damaged, keeps its write position for
   * the next append.
   */
  private async readAndRemember(id: string): Promise<StreamFile | undefined> {
    const file = await readStreamFile(this.pool, this.openPath(id), id);
    if (file && !this.positions.has(id)) {
      const { damage, end, frames } = file.scan;
      if (!damage)
        this.positions.set(id, { path: file.path, length: frames.length, end, size: file.size });
    }
    return file;
  }

  /** The stream's encoded records from `position` on: for recognising a repeated append. */
  private async storedFrom(id: string, position: number): Promise<Uint8Array[]> {
    const file = await readStreamFile(this.pool, this.openPath(id), id);
    return (file?.scan.frames ?? []).slice(position).map((frame) => frame.payload);
  }

  private async write(
    id: string,
    position: WritePosition,
    frames: Buffer,
    count: number,
  ): Promise<void> {
    const failure = this.sync.failure(position.path);
    if (failure) throw failure;
    try {
      await this.pool.use(position.path, 'r+', async (fd) => {
        if (position.size > position.end) await truncateFile(fd, position.end);
        await writeAt(fd, frames, position.end);
        await this.sync.written(position.path, fd);
      });
    } catch (error) {
      // Part of the frames may have landed: find out from the file on the next use.
      this.positions.delete(id);
      throw fileError(position.path, 'append to', error);
    }
    position.length += count;
    position.end += frames.length;
    position.size = position.end;
  }

  /**
   * A new stream's file appears complete or not at all: header and first frames are written
   * to a temporary file that is then renamed into place.
   */
  private async create(id: string, frames: Buffer, count: number): Promise<void> {
    const file = this.openPath(id);
    const creating = `${file}${CREATING_SUFFIX}`;
    const bytes = Buffer.concat([encodeHeader(id), frames]);
    try {
      await this.pool.use(creating, 'w+', async (fd) => {
        await writeAt(fd, bytes, 0);
        await this.sync.written(creating, fd);
      });
      await renameFile(creating, file);
    } catch (error) {
      this.pool.retire(creating);
      this.sync.forget(creating);
      await rm(creating, { force: true });
      throw fileError(file, 'create', error);
    }
    this.pool.moved(creating, file);
    this.sync.moved(creating, file);
    this.positions.set(id, { path: file, length: count, end: bytes.length, size: bytes.length });
    await this.sync.directoryChanged(this.dir);
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    this.checkRunning();
    return this.lock.run(DIRECTORY_SCAN, async () => {
      const [open, closed] = await Promise.all([
        this.idsIn(this.dir, false),
        this.idsIn(this.closedDir, true),
      ]);
      const closedIds = new Set(closed.map((stream) => stream.id));
      return [...open.filter((stream) => !closedIds.has(stream.id)), ...closed];
    });
  }

  /** IDs from file names; only a hashed (long) name needs its file's header. */
  private async idsIn(directory: string, closed: boolean): Promise<Omit<StreamInfo, 'length'>[]> {
    const ids = await Promise.all(
      (await this.journalFiles(directory)).map(async (name) => {
        const id = idOfFileName(name);
        if (id !== undefined) return { id, closed };
        const fromHeader = await this.idFromHeader(path.join(directory, name));
        return fromHeader === undefined ? undefined : { id: fromHeader, closed };
      }),
    );
    return ids.filter((info) => info !== undefined);
  }

  private async listDirectory(directory: string, closed: boolean): Promise<StreamInfo[]> {
    const infos = await Promise.all(
      (await this.journalFiles(directory)).map(async (name): Promise<StreamInfo | undefined> => {
        const id = idOfFileName(name);
        const known = id === undefined || closed ? undefined : this.positions.get(id);
        if (id !== undefined && known) return { id, length: known.length, closed };
        const file = await readStreamFile(this.pool, path.join(directory, name)).catch(
          (error: unknown) => {
            if (error instanceof LuactError && error.kind === 'INTERNAL') return undefined;
            throw error;
          },
        );
        // A damaged stream is listed with the records before the damage; read() reports it.
        return file && { id: file.id, length: file.scan.frames.length, closed };
      }),
    );
    return infos.filter((info) => info !== undefined);
  }

  private async journalFiles(directory: string): Promise<string[]> {
    try {
      return (await readdir(directory)).filter(isJournalFileName);
    } catch (error) {
      throw fileError(directory, 'list', error);
    }
  }

  /** The ID in a file's header; undefined when the file is gone or its header is damaged. */
  private async idFromHeader(file: string): Promise<string | undefined> {
    try {
      const bytes = await this.pool.use(file, 'r+', (fd) => readFileAt(fd, MAX_HEADER_BYTES));
      return decodeHeader(bytes, file).id;
    } catch {
      return undefined;
    }
  }

  private openPath(id: string): string {
    return path.join(this.dir, fileNameOf(id));
  }

  private closedPath(id: string): string {
    return path.join(this.closedDir, fileNameOf(id));
  }

  private checkRunning(): void {
    if (this.stopped) throw shutDownError(this.dir);
  }
}

function damageOf(file: StreamFile): LuactError {
  const { damage } = file.scan;
  return corruptJournal(file.path, damage?.offset ?? 0, damage?.why ?? 'unreadable');
}

function checkPositive(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new LuactError(
      'INVALID',
      `FileJournal ${name} must be a positive integer, got ${value}`,
      {
        retryable: false,
      },
    );
  }
}

/** Temporary files of streams whose creation a crash interrupted: their appends never resolved. */
async function removeUnfinishedCreations(dir: string): Promise<void> {
  const leftovers = (await readdir(dir)).filter((name) => name.endsWith(CREATING_SUFFIX));
  await Promise.all(leftovers.map((name) => rm(path.join(dir, name), { force: true })));
}
