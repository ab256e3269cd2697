import fs from 'node:fs';
import { rm } from 'node:fs/promises';
import { closeFile, openFile, syncData, syncDirectory, writeAllAt } from './fd-io.js';
import { fileError } from './file-errors.js';
import type { KeyedLock } from './keyed-lock.js';
import type { Tombstones } from './log-recovery.js';
import type { LogWriter } from './log-writer.js';
import { archiveIndexPath, type SegmentFiles } from './segment-files.js';
import { chunkAt, type StreamIndex, type StreamState } from './stream-index.js';
import {
  type ArchivedEntry,
  archivedFrame,
  closeFrame,
  encodeSegmentHeader,
  type LogPosition,
  type PendingFrame,
  placeFrame,
  removeFrame,
  SEGMENT_HEADER_BYTES,
  snapshotFrame,
} from './wal-format.js';

export interface CompactorOptions {
  readonly index: StreamIndex;
  readonly writer: LogWriter;
  readonly files: SegmentFiles;
  /** The journal's per-stream lock: a stream copied forward takes no appends meanwhile. */
  readonly lock: KeyedLock;
  readonly archiveDir: string;
  /** The log's directory (its segments' deletions are synced there). */
  readonly logDir: string;
  /** Full log segments, oldest first (the active one is not among them). */
  readonly segments: readonly number[];
  /** Per log segment: archived streams whose REMOVE frame it holds, with their archives. */
  readonly tombstones: Tombstones;
  /** Per archive: the (older) archives whose streams it holds removals of. */
  readonly removesFrom: Map<number, Set<number>>;
  /** The newest full segments left alone: their streams are likely still running. */
  readonly keepSegments: number;
}

/** A snapshot frame that names no log position: a stream copied forward within the log. */
const IN_LOG: LogPosition = { segment: 0, offset: 0 };
const CREATING_SUFFIX = '.tmp';

/**
 * Keeps the log short: a full segment past the newest few is emptied and deleted once that
 * pays (see `compact`). Its closed
 * streams go, whole, to a new archive file (written, synced and renamed into place before
 * anything points at it), with the log position the archive covers, so frames of theirs still
 * in newer segments are skipped on recovery. Its open streams are copied forward whole into the
 * active segment (a SNAPSHOT frame replaces what came before). Removals of archived streams
 * that the segment held go to the archive as well. Only then, once all of it is durable, is
 * the segment deleted: a crash before that finds both, and the newer copy wins.
 *
 * Compactions and removals run one at a time (`serially`): a stream removed while it was being
 * archived could otherwise be brought back by the archive.
 */
export class LogCompactor {
  private readonly full: number[];
  private queue: Promise<void> = Promise.resolve();
  private pending = false;
  private stopped = false;
  /** Segments were deleted since the log directory was last synced (see dropEmptyArchives). */
  private unsyncedDeletions = false;

  constructor(private readonly options: CompactorOptions) {
    this.full = [...options.segments];
  }

  /** fdatasync and fsync calls made for archives. */
  syncs = 0;

  /** Segment `segment` is full: compact what is now old enough, in the background. */
  segmentFull(segment: number): void {
    this.full.push(segment);
    this.schedule();
  }

  /** Compacts, in the background, what is old enough (also what a previous run left). */
  schedule(): void {
    if (this.stopped || this.pending || this.full.length <= this.options.keepSegments) return;
    this.pending = true;
    void this.serially(async () => {
      this.pending = false;
      await this.compactOld();
    }).catch(() => {
      // Left for the next time a segment fills: a failed compaction loses nothing, the
      // segment stays until one succeeds (a full disk fails appends loudly meanwhile).
    });
  }

  /** Stream `id` of archive `archive` was removed by a frame in log segment `segment`. */
  removedFromArchive(segment: number, id: string, archive: number): void {
    let removed = this.options.tombstones.get(segment);
    if (!removed) {
      removed = new Map();
      this.options.tombstones.set(segment, removed);
    }
    removed.set(id, archive);
  }

  /** Runs `work` when no compaction or other such work runs. */
  serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /** Resolves once queued work is done. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** The journal shuts down: no compaction starts from now on (a full segment waits). */
  stop(): void {
    this.stopped = true;
  }

  /** Compacts every full segment but the newest `keep`; returns how many it deleted. */
  async compactOld(keep = this.options.keepSegments): Promise<number> {
    let deleted = 0;
    // Oldest first, and never past a segment that stays: a CLOSE or REMOVE in a newer segment
    // may be all that says what became of a stream whose records the older one holds, and
    // recovery reads the segments in order. (A failed compaction leaves its segment too.)
    while (this.full.length > keep) {
      if (!(await this.compact(this.full[0] as number))) break;
      this.full.shift();
      deleted++;
    }
    if (deleted > 0) await this.dropEmptyArchives(); // the log's oldest segment may be gone
    return deleted;
  }

  /** Whether no stream the journal knows has records in archive `archive` any more. */
  emptied(archive: number): boolean {
    return !holdsRecords(this.options.index, archive);
  }

  /**
   * Deletes the archives nothing needs any more (a retention removes runs, and disk space must
   * come back too), oldest first, so a deletion can free a newer archive. An archive is needed
   * while
   * - a stream it holds is not removed;
   * - it holds a removal of a stream in an older archive that is still there (without it, that
   *   stream would come back at the next open);
   * - a log segment older than it is left: frames its streams had there before it was written
   *   are skipped on recovery only because it says it holds them. (A segment is not compacted
   *   while copying its open streams costs too much, so one may outlive newer ones.)
   * The index goes before the archive (an archive without one is read whole), and the
   * directory is synced after each: a newer archive's deletion never lasts without an older
   * one's. Segments deleted before are made to last first (their directory synced): one back
   * after a power loss would bring back what an archive that outlived it said it held.
   * Resolves with how many were deleted; one that cannot be deleted stays until the next
   * removal or compaction tries again.
   */
  async dropEmptyArchives(): Promise<number> {
    const { index, files, writer, archiveDir, logDir, removesFrom } = this.options;
    if (this.unsyncedDeletions) {
      this.syncs++;
      try {
        await syncDirectory(logDir);
      } catch (error) {
        throw fileError(logDir, 'sync', error);
      }
      this.unsyncedDeletions = false;
    }
    const oldestSegment = this.full[0] ?? writer.activeSegment;
    let deleted = 0;
    for (const archive of files.archiveNumbers()) {
      if (archive > oldestSegment) break;
      if (holdsRecords(index, archive)) continue;
      if ([...(removesFrom.get(archive) ?? [])].some((older) => files.isArchive(older))) continue;
      const file = files.pathOfArchive(archive);
      try {
        files.forget(archive);
        await rm(archiveIndexPath(file), { force: true });
        await rm(file, { force: true });
        files.dropArchive(archive);
        this.syncs++;
        await syncDirectory(archiveDir);
      } catch {
        // It stays (an archive without its index is read whole): tried again next time.
        break;
      }
      index.dropFile(archive);
      removesFrom.delete(archive);
      deleted++;
    }
    return deleted;
  }

  /**
   * Empties segment `segment` and deletes it. Not yet (false) while copying its open streams
   * forward would write more than half of what deleting it frees (they are copied whole, and
   * the log must shrink), nor while it holds a damaged stream (the segment is the evidence).
   */
  private async compact(segment: number): Promise<boolean> {
    const { index, writer, files, lock } = this.options;
    const closed: string[] = [];
    const open: string[] = [];
    let openBytes = 0;
    for (const id of index.membersOf(segment)) {
      const stream = index.get(id);
      if (!stream || !hasRecordsIn(stream, segment)) continue;
      if (stream.damage || stream.gap) return false;
      if (stream.closed) closed.push(id);
      else {
        open.push(id);
        for (const chunk of stream.chunks) openBytes += chunk.size;
      }
    }
    if (openBytes > fs.statSync(files.path(segment)).size / 2) return false;
    // Removals of streams whose archive is gone already are needed no more.
    const removed = new Map(
      [...(this.options.tombstones.get(segment) ?? [])].filter(([, archive]) =>
        files.isArchive(archive),
      ),
    );
    if (closed.length > 0 || removed.size > 0) await this.archive(closed, removed);
    // All at once: the copies share the log's writes and syncs.
    await Promise.all(
      open.map((id) =>
        lock.run(id, async () => {
          const stream = index.get(id);
          if (!stream || stream.damage || !hasRecordsIn(stream, segment)) return;
          const records = this.recordsOf(id, stream);
          // Closed while the segment was archived: its CLOSE frame lies before the copy, maybe
          // in a segment compacted before the copy's, so the copy carries it on (same batch).
          const [placement] = await Promise.all([
            writer.submit(snapshotFrame(id, IN_LOG, records)),
            stream.closed && writer.submit(closeFrame(id, stream.summary)),
          ]);
          index.snapshot(id, chunkAt(placement, 0, records.length));
        }),
      ),
    );
    // What was copied is durable (whatever the fsync policy) before its old copy goes.
    await writer.flush();
    files.forget(segment);
    index.dropFile(segment);
    this.options.tombstones.delete(segment);
    try {
      await rm(files.path(segment), { force: true });
    } catch (error) {
      throw fileError(files.path(segment), 'delete', error);
    }
    this.unsyncedDeletions = true;
    return true;
  }

  /**
   * Writes closed streams `ids` and removals `removed` to a new archive, and beside it the
   * archive's index (where each stream lies, its summary and the log position covered): what a
   * journal opening later reads instead of the archive. Both are written whole and synced, then
   * renamed into place, the archive first: an archive without its index is read whole.
   */
  private async archive(
    ids: readonly string[],
    removed: ReadonlyMap<string, number>,
  ): Promise<void> {
    const { index, writer, files, archiveDir } = this.options;
    const number = writer.reserveNumber();
    const watermark = writer.position();
    const file = files.pathOfArchive(number);
    const indexFile = archiveIndexPath(file);
    // Removals first: one may remove an earlier stream of an ID this archive holds again.
    const tombstones = [...removed.keys()].map(removeFrame);
    const frames: PendingFrame[] = [];
    const entries: ArchivedEntry[] = [];
    let offset = SEGMENT_HEADER_BYTES;
    for (const tombstone of tombstones) offset += tombstone.bytes.length;
    for (const id of ids) {
      const stream = index.get(id) as StreamState;
      const records = this.recordsOf(id, stream);
      const snapshot = snapshotFrame(id, watermark, records);
      const close = closeFrame(id, stream.summary);
      entries.push({
        id,
        offset,
        size: snapshot.bytes.length,
        count: records.length,
        watermark,
        summary: stream.summary,
      });
      frames.push(snapshot, close);
      offset += snapshot.bytes.length + close.bytes.length;
    }
    try {
      await fs.promises.mkdir(archiveDir, { recursive: true });
      await this.writeWhole(`${file}${CREATING_SUFFIX}`, number, [...tombstones, ...frames]);
      await this.writeWhole(`${indexFile}${CREATING_SUFFIX}`, number, [
        ...[...removed.keys()].map(removeFrame),
        ...entries.map(archivedFrame),
      ]);
      fs.renameSync(`${file}${CREATING_SUFFIX}`, file);
      fs.renameSync(`${indexFile}${CREATING_SUFFIX}`, indexFile);
      this.syncs++;
      await syncDirectory(archiveDir);
    } catch (error) {
      await rm(`${file}${CREATING_SUFFIX}`, { force: true });
      await rm(`${indexFile}${CREATING_SUFFIX}`, { force: true });
      throw fileError(file, 'write', error);
    }
    files.addArchive(number);
    if (removed.size > 0) this.options.removesFrom.set(number, new Set(removed.values()));
    for (const { id, offset: at, size, count } of entries) {
      index.snapshot(id, { segment: number, offset: at, size, first: 0, count });
    }
  }

  /** A file of the log's format, `frames` after the header of file `number`, synced. */
  private async writeWhole(path: string, number: number, frames: PendingFrame[]): Promise<void> {
    const fd = await openFile(path, 'w+');
    try {
      const header = encodeSegmentHeader(number);
      writeAllAt(fd, header, 0);
      let end = header.length;
      for (const frame of frames) {
        placeFrame(frame, SEGMENT_HEADER_BYTES);
        writeAllAt(fd, frame.bytes, end);
        end += frame.bytes.length;
      }
      this.syncs++;
      await syncData(fd);
    } finally {
      await closeFile(fd);
    }
  }

  private recordsOf(id: string, stream: StreamState): Buffer[] {
    return this.options.files.records(id, stream.chunks);
  }
}

function hasRecordsIn(stream: StreamState, segment: number): boolean {
  return stream.chunks.some((chunk) => chunk.segment === segment);
}

/** Whether a stream the journal knows has records in file `segment`. */
function holdsRecords(index: StreamIndex, segment: number): boolean {
  for (const id of index.membersOf(segment)) {
    const stream = index.get(id);
    if (stream && hasRecordsIn(stream, segment)) return true;
  }
  return false;
}
