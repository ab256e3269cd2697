import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isMissing } from './fd-io.js';
import { fileError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import { segmentFileName, segmentNumberOf } from './log-writer.js';
import { archiveIndexPath, SegmentFiles } from './segment-files.js';
import { type Chunk, StreamIndex } from './stream-index.js';
import {
  archivedEntryOf,
  type FrameAt,
  frameAt,
  isBefore,
  type LogPosition,
  nextFrameAfter,
  Operation,
  recordCount,
  SEGMENT_HEADER_BYTES,
  segmentHeaderProblem,
  watermarkOf,
} from './wal-format.js';

/** The log as found at open: its streams, and where writing goes on. */
export interface RecoveredLog {
  readonly index: StreamIndex;
  /** Reads the log's and the archives' frames. */
  readonly files: SegmentFiles;
  /** The last segment and the end of its intact frames (a torn tail lies beyond). */
  readonly resume: { readonly segment: number; readonly end: number } | undefined;
  /** The number a new log file (segment or archive) takes. */
  readonly next: number;
  /** The log's segments, oldest first. */
  readonly segments: readonly number[];
  /** The archives, oldest first. */
  readonly archives: readonly number[];
  /** Per log segment: archived streams whose REMOVE frame it holds, with their archives. */
  readonly tombstones: Tombstones;
  /** Per archive: the (older) archives whose streams it holds removals of. */
  readonly removesFrom: Map<number, Set<number>>;
}

/** Per log segment: the archived streams it holds a REMOVE frame of, and their archive. */
export type Tombstones = Map<number, Map<string, number>>;

/** What applying files builds up, besides the index. */
interface Recovery {
  readonly index: StreamIndex;
  /** Archived streams, and the log position up to which their archive holds them. */
  readonly archivedAt: Map<string, LogPosition>;
  readonly tombstones: Tombstones;
  readonly removesFrom: Map<number, Set<number>>;
}

/**
 * Reads the archives (closed streams that compaction moved out of the log), then every log
 * segment in order, and applies their frames to a fresh index. A log frame older than the
 * archive of its stream is skipped: the archive holds it already.
 *
 * In the last segment, a bad spot that only the write in progress at a crash can have left (no
 * later write follows it) is a torn tail: it and what follows are left out, and the writer cuts
 * them off. Anywhere else a bad frame is damage: when its header is sound, its stream is
 * damaged; otherwise every stream open at that point may have lost records, and all of them are.
 */
export async function recoverLog(logDir: string, archiveDir: string): Promise<RecoveredLog> {
  const [segments, archives] = await Promise.all([listLogFiles(logDir), listLogFiles(archiveDir)]);
  const files = new SegmentFiles(logDir, archiveDir, archives);
  const recovery: Recovery = {
    index: new StreamIndex((segment) => files.path(segment)),
    archivedAt: new Map(),
    tombstones: new Map(),
    removesFrom: new Map(),
  };
  for (const archive of archives) {
    const file = path.join(archiveDir, segmentFileName(archive));
    if (await applyArchiveIndex(archiveIndexPath(file), archive, recovery)) continue;
    applyFile(await readLogFile(file), archive, file, 'archive', recovery);
  }
  let resume: RecoveredLog['resume'];
  let liveSegments = segments;
  for (const [position, segment] of segments.entries()) {
    const file = path.join(logDir, segmentFileName(segment));
    const bytes = await readLogFile(file);
    const last = position === segments.length - 1;
    if (last && bytes.length < SEGMENT_HEADER_BYTES) {
      // A crash while the segment was being created: it never held a frame.
      await rm(file, { force: true });
      liveSegments = segments.slice(0, -1);
      break;
    }
    const end = applyFile(bytes, segment, file, last ? 'last segment' : 'segment', recovery);
    if (last) resume = { segment, end };
  }
  return {
    index: recovery.index,
    files,
    resume,
    next: Math.max(0, ...segments, ...archives) + 1,
    segments: liveSegments,
    archives,
    tombstones: recovery.tombstones,
    removesFrom: recovery.removesFrom,
  };
}

type FileRole = 'archive' | 'segment' | 'last segment';

/** Applies one file's frames; returns where its intact frames end. */
function applyFile(
  bytes: Buffer,
  segment: number,
  file: string,
  role: FileRole,
  recovery: Recovery,
): number {
  const { index } = recovery;
  // Payloads are checked when read, not at every start (the archives hold every closed
  // stream's records). Only the last segment's are checked here (a crash tears its tail),
  // and every close's: its summary is kept as it is, not read again.
  let offset = SEGMENT_HEADER_BYTES;
  const headerProblem = segmentHeaderProblem(bytes, segment);
  if (headerProblem !== undefined) {
    index.damageOpen(corruptJournal(file, 0, headerProblem));
    const next = nextFrameAfter(bytes, 0);
    if (!next) return offset;
    offset = next.offset;
  }
  while (offset < bytes.length) {
    const checkPayload =
      role === 'last segment' ||
      (offset + 8 < bytes.length && bytes.readUInt8(offset + 8) === Operation.close);
    const frame = frameAt(bytes, offset, checkPayload);
    if (frame && !frame.damaged) {
      applyFrame(frame, bytes, segment, role, recovery);
      offset += frame.size;
      continue;
    }
    const following = nextFrameAfter(bytes, frame ? offset + frame.size - 1 : offset);
    if (role === 'last segment' && !laterWriteFrom(bytes, following, offset)) return offset; // torn tail
    const why = frame ? 'checksum mismatch' : 'frame header checksum mismatch';
    const damage = corruptJournal(file, offset, why);
    if (frame) index.damaged(frame.id, damage);
    else index.damageOpen(damage);
    if (!following) return bytes.length;
    offset = following.offset;
  }
  return offset;
}

/**
 * Applies an archive's index instead of the archive (a small file where the archive holds every
 * record); false when there is no sound index, and the archive itself must be read. An index
 * is all or nothing: it is written whole and synced before it is renamed into place.
 */
async function applyArchiveIndex(
  file: string,
  archive: number,
  recovery: Recovery,
): Promise<boolean> {
  const { index, archivedAt } = recovery;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return false;
  }
  if (segmentHeaderProblem(bytes, archive) !== undefined) return false;
  const operations: (() => void)[] = [];
  for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; ) {
    const frame = frameAt(bytes, offset);
    if (!frame || frame.damaged) return false;
    const payload = bytes.subarray(offset + frame.payloadAt, offset + frame.size);
    const { id } = frame;
    if (frame.operation === Operation.archived) {
      const entry = archivedEntryOf(id, payload);
      if (!entry) return false;
      operations.push(() => {
        const { offset: at, size, count } = entry;
        index.snapshot(id, { segment: archive, offset: at, size, first: 0, count });
        index.close(id, entry.summary);
        archivedAt.set(id, entry.watermark);
      });
    } else if (frame.operation === Operation.remove) {
      operations.push(() => removedByArchive(archive, id, recovery));
    } else return false;
    offset += frame.size;
  }
  for (const operation of operations) operation();
  return true;
}

/**
 * Whether a sound frame from `from` on was carried by a write that began after `offset`: then
 * the write holding `offset` had completed (and, with `fsync=always`, been synced) before it.
 */
function laterWriteFrom(bytes: Buffer, from: FrameAt | undefined, offset: number): boolean {
  let frame = from;
  while (frame) {
    if (frame.batchStart > offset) return true;
    const next = frame.offset + frame.size;
    frame = frameAt(bytes, next) ?? nextFrameAfter(bytes, next);
  }
  return false;
}

function applyFrame(
  frame: FrameAt,
  bytes: Buffer,
  segment: number,
  role: FileRole,
  recovery: Recovery,
): void {
  const { index, archivedAt, tombstones } = recovery;
  const { id, operation } = frame;
  const payloadAt = frame.offset + frame.payloadAt;
  if (role !== 'archive') {
    const archived = archivedAt.get(id);
    if (archived !== undefined) {
      if (isBefore({ segment, offset: frame.offset }, archived)) return; // in the archive already
      if (operation === Operation.remove) {
        archivedAt.delete(id);
        const archive = index.get(id)?.chunks[0]?.segment;
        const removed = tombstones.get(segment) ?? new Map<string, number>();
        if (archive !== undefined) tombstones.set(segment, removed.set(id, archive));
      }
    }
  }
  switch (operation) {
    case Operation.append:
      index.append(id, chunkOf(frame, segment, recordCount(bytes, frame)));
      return;
    case Operation.snapshot:
      index.snapshot(id, chunkOf(frame, segment, recordCount(bytes, frame)));
      if (role === 'archive')
        archivedAt.set(id, watermarkOf(bytes.subarray(payloadAt, frame.offset + frame.size)));
      return;
    case Operation.close: {
      // Copied: the index must not keep the whole file's buffer alive.
      const end = frame.offset + frame.size;
      index.close(
        id,
        end > payloadAt ? Uint8Array.prototype.slice.call(bytes, payloadAt, end) : undefined,
      );
      return;
    }
    case Operation.remove:
      if (role === 'archive') removedByArchive(segment, id, recovery);
      else index.remove(id);
      return;
  }
}

/**
 * A REMOVE frame in archive `archive`: the stream goes, and the archive holding it (an older
 * one) is noted, since `archive` must outlive it (see LogCompactor.dropEmptyArchives).
 */
function removedByArchive(archive: number, id: string, recovery: Recovery): void {
  const holder = recovery.index.get(id)?.chunks[0]?.segment;
  if (holder !== undefined && recovery.archivedAt.has(id)) {
    const older = recovery.removesFrom.get(archive) ?? new Set<number>();
    recovery.removesFrom.set(archive, older.add(holder));
  }
  recovery.index.remove(id);
  recovery.archivedAt.delete(id);
}

function chunkOf(frame: FrameAt, segment: number, count: number): Chunk {
  return { segment, offset: frame.offset, size: frame.size, first: frame.first, count };
}

async function readLogFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw fileError(file, 'read', error);
  }
}

async function listLogFiles(directory: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if (isMissing(error)) return [];
    throw fileError(directory, 'list', error);
  }
  return names
    .map(segmentNumberOf)
    .filter((segment) => segment !== undefined)
    .sort((a, b) => a - b);
}
