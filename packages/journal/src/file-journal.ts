import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { checkId, closedError } from './errors.js';
import { fileError, shutDownError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import type { ClosedStream, Journal, JournalRecord, StreamInfo } from './journal.js';
import { KeyedLock } from './keyed-lock.js';
import { importLegacyStreams } from './legacy-import.js';
import { LogCompactor } from './log-compactor.js';
import { recoverLog } from './log-recovery.js';
import { LogWriter } from './log-writer.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { countStoredAlready } from './repeat.js';
import type { SegmentFiles } from './segment-files.js';
import { chunkAt, type StreamIndex, type StreamState } from './stream-index.js';
import { DEFAULT_SYNC_INTERVAL_MS, describeDurability, type FsyncPolicy } from './sync-policy.js';
import { appendFrame, closeFrame, removeFrame } from './wal-format.js';

export interface FileJournalOptions {
  /** The journal's directory, created if missing. One FileJournal per directory at a time. */
  readonly dir: string;
  /** When appends reach the disk: see `FsyncPolicy`. */
  readonly fsync: FsyncPolicy;
  /** `batch` only: how often written files are fsynced. Default 100 ms. */
  readonly syncIntervalMs?: number;
  /** A log segment that reaches this size is followed by a new one. Default 64 MiB. */
  readonly segmentBytes?: number;
}

/** Where the log's segments and the archives of compacted closed streams live. */
const LOG_DIR = 'log';
const ARCHIVE_DIR = 'archive';
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Full segments left out of compaction: their streams are the likeliest to be running. */
const KEEP_SEGMENTS = 1;

/**
 * The single-node journal (docs/concepts/journals.md): every stream's appends, closes and
 * removals go to one write-ahead log of checksummed frames in numbered segment files, and a
 * group commit writes (and with `fsync=always` syncs) the frames of all streams that append at
 * once together. Which frames hold which stream's records is kept in memory (built by reading
 * the log at open), so an append is a write, a read reads the stream's own frames, and
 * listing streams reads nothing. This journal is the single writer of its directory.
 */
export class FileJournal implements Journal {
  readonly kind = 'file';
  readonly durability: string;

  private stopped: Promise<void> | undefined;

  static async open(options: FileJournalOptions): Promise<FileJournal> {
    const syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    checkPositive('syncIntervalMs', syncIntervalMs);
    checkPositive('segmentBytes', segmentBytes);
    const durability = describeDurability(options.fsync, syncIntervalMs); // checks the policy
    const dir = path.resolve(options.dir);
    const logDir = path.join(dir, LOG_DIR);
    const archiveDir = path.join(dir, ARCHIVE_DIR);
    try {
      await mkdir(logDir, { recursive: true });
      await removeUnfinished(archiveDir);
    } catch (error) {
      throw fileError(dir, 'open the directory of', error);
    }
    const recovered = await recoverLog(logDir, archiveDir);
    let compactor: LogCompactor | undefined;
    // Segments filled before the compactor exists (importing an old journal): its first work.
    const filledEarly: number[] = [];
    const writer = await LogWriter.open({
      logDir,
      fsync: options.fsync,
      syncIntervalMs,
      segmentBytes,
      resume: recovered.resume,
      next: recovered.next,
      onRollOver: (full) => (compactor ? compactor.segmentFull(full) : filledEarly.push(full)),
    });
    const files = recovered.files;
    await importLegacyStreams(dir, recovered.index, writer);
    const lock = new KeyedLock();
    compactor = new LogCompactor({
      index: recovered.index,
      writer,
      files,
      lock,
      archiveDir,
      logDir,
      segments: [
        ...recovered.segments.filter((segment) => segment !== writer.activeSegment),
        ...filledEarly,
      ],
      tombstones: recovered.tombstones,
      removesFrom: recovered.removesFrom,
      keepSegments: KEEP_SEGMENTS,
    });
    compactor.schedule(); // what a previous run left to compact
    dropEmptyArchives(compactor); // emptied before a crash, or while older segments were left
    return new FileJournal(dir, durability, {
      writer,
      index: recovered.index,
      files,
      lock,
      compactor,
    });
  }

  private readonly writer: LogWriter;
  private readonly index: StreamIndex;
  private readonly segments: SegmentFiles;
  private readonly lock: KeyedLock;
  private readonly compactor: LogCompactor;

  private constructor(
    private readonly dir: string,
    durability: string,
    parts: {
      writer: LogWriter;
      index: StreamIndex;
      files: SegmentFiles;
      lock: KeyedLock;
      compactor: LogCompactor;
    },
  ) {
    this.durability = durability;
    this.writer = parts.writer;
    this.index = parts.index;
    this.segments = parts.files;
    this.lock = parts.lock;
    this.compactor = parts.compactor;
  }

  /** fdatasync and fsync calls this journal made: benchmarks count syncs per workflow. */
  get syncs(): number {
    return this.writer.syncs + this.compactor.syncs;
  }

  /**
   * Compacts every full log segment now (the journal does it by itself, in the background, for
   * all but the newest full one): closed streams move to an archive, open ones forward into
   * the active segment. Resolves with how many segments were deleted.
   */
  compact(): Promise<number> {
    this.checkRunning();
    return this.compactor.serially(() => this.compactor.compactOld(0));
  }

  /** Appends, closes and removals written to the log. */
  get frames(): number {
    return this.writer.frames;
  }

  async append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void> {
    this.checkRunning();
    checkId(id);
    const encoded = records.map(encodeRecord);
    if (encoded.length === 0) return;
    return this.lock.run(id, async () => {
      const stream = this.index.get(id);
      const damage = stream?.damage ?? stream?.gap;
      if (damage) throw damage; // appending after damage would bury it
      if (stream?.closed) throw closedError(id);
      const done = await countStoredAlready(id, expected, stream?.length ?? 0, encoded, async () =>
        this.encodedRecords(id, stream).slice(expected),
      );
      if (done === encoded.length) return;
      const first = expected + done;
      const appended = done === 0 ? encoded : encoded.slice(done);
      const placement = await this.writer.submit(appendFrame(id, first, appended));
      this.index.append(id, chunkAt(placement, first, appended.length));
    });
  }

  async read(id: string): Promise<JournalRecord[]> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const stream = this.index.get(id);
      if (!stream) return [];
      return this.encodedRecords(id, stream).map((bytes, position) => {
        const decoded = decodeRecord(bytes);
        if (decoded.ok) return decoded.value;
        const chunk = chunkOf(stream, position);
        throw this.damaged(
          id,
          corruptJournal(this.segments.path(chunk.segment), chunk.offset, decoded.error),
        );
      });
    });
  }

  async close(id: string, summary?: JournalRecord): Promise<void> {
    this.checkRunning();
    checkId(id);
    return this.lock.run(id, async () => {
      const stream = this.index.get(id);
      if (!stream || stream.closed || stream.length === 0) return;
      const encoded = summary === undefined ? undefined : encodeRecord(summary);
      await this.writer.submit(closeFrame(id, encoded));
      this.index.close(id, encoded);
    });
  }

  async open(): Promise<string[]> {
    this.checkRunning();
    const ids: string[] = [];
    for (const [id, stream] of this.index.entries()) if (!stream.closed) ids.push(id);
    return ids;
  }

  async list(): Promise<StreamInfo[]> {
    this.checkRunning();
    const streams: StreamInfo[] = [];
    for (const [id, stream] of this.index.entries())
      streams.push({ id, length: stream.length, closed: stream.closed });
    return streams;
  }

  async ids(): Promise<Omit<StreamInfo, 'length'>[]> {
    this.checkRunning();
    const streams: Omit<StreamInfo, 'length'>[] = [];
    for (const [id, stream] of this.index.entries()) streams.push({ id, closed: stream.closed });
    return streams;
  }

  async listClosed(): Promise<ClosedStream[]> {
    this.checkRunning();
    const closed: ClosedStream[] = [];
    for (const [id, stream] of this.index.entries()) {
      if (!stream.closed) continue;
      const summary = stream.summary && decodeRecord(stream.summary);
      // A summary that does not decode is left out: it only helps listing.
      closed.push(summary?.ok ? { id, summary: summary.value } : { id });
    }
    return closed;
  }

  async remove(id: string): Promise<void> {
    this.checkRunning();
    checkId(id);
    // Not while a compaction runs: an archive it is writing could bring the stream back.
    return this.compactor.serially(() =>
      this.lock.run(id, async () => {
        const stream = this.index.get(id);
        if (!stream) return;
        const placement = await this.writer.submit(removeFrame(id));
        const archive = stream.chunks.find((chunk) => this.segments.isArchive(chunk.segment));
        if (archive) this.compactor.removedFromArchive(placement.segment, id, archive.segment);
        this.index.remove(id);
        // Its archive may hold nothing else now: the disk space comes back. (The pass looks at
        // every archive: not for each of the many removals of a retention's sweep.)
        if (archive && this.compactor.emptied(archive.segment))
          await this.compactor.dropEmptyArchives();
      }),
    );
  }

  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      // No compaction starts once appends in flight fill a segment: it would run on after.
      this.compactor.stop();
      await this.compactor.idle();
      await this.lock.idle();
      try {
        await this.writer.flush();
      } finally {
        await this.writer.close();
        this.segments.closeAll();
      }
    })();
    return this.stopped;
  }

  /** The stream's records as stored, each checked against its frame's checksums. */
  private encodedRecords(id: string, stream: StreamState | undefined): Buffer[] {
    if (!stream) return [];
    const damage = stream.damage ?? stream.gap;
    if (damage) throw damage;
    try {
      return this.segments.records(id, stream.chunks);
    } catch (error) {
      throw error instanceof LuactError && error.kind === 'INTERNAL'
        ? this.damaged(id, error)
        : error;
    }
  }

  private damaged(id: string, damage: LuactError): LuactError {
    this.index.damaged(id, damage);
    return damage;
  }

  private checkRunning(): void {
    if (this.stopped) throw shutDownError(this.dir);
  }
}

/** Deletes the archives nothing needs any more (LogCompactor.dropEmptyArchives), in turn. */
function dropEmptyArchives(compactor: LogCompactor): void {
  void compactor.serially(() => compactor.dropEmptyArchives());
}

/** Archives a crash interrupted before they were complete: nothing points at them. */
async function removeUnfinished(archiveDir: string): Promise<void> {
  await mkdir(archiveDir, { recursive: true });
  const leftovers = (await readdir(archiveDir)).filter((name) => name.endsWith('.tmp'));
  await Promise.all(leftovers.map((name) => rm(path.join(archiveDir, name), { force: true })));
}

/** The chunk holding the stream's record at `position`. */
function chunkOf(stream: StreamState, position: number) {
  const chunk = stream.chunks.find((c) => position >= c.first && position < c.first + c.count);
  if (!chunk) throw new Error(`no chunk holds record ${position}`);
  return chunk;
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
