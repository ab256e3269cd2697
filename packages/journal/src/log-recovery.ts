import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileError } from './file-errors.js';
import { corruptJournal } from './file-format.js';
import { segmentFileName, segmentNumberOf } from './log-writer.js';
import { decodeRecord } from './record-codec.js';
import { StreamIndex } from './stream-index.js';
import {
  type FrameAt,
  frameAt,
  nextFrameAfter,
  Operation,
  recordCount,
  SEGMENT_HEADER_BYTES,
  segmentHeaderProblem,
} from './wal-format.js';

/** The log as found at open: its streams, and where writing goes on. */
export interface RecoveredLog {
  readonly index: StreamIndex;
  /** The last segment and the end of its intact frames (a torn tail lies beyond). */
  readonly resume: { readonly segment: number; readonly end: number } | undefined;
  /** The number a new segment takes. */
  readonly next: number;
  /** Every segment there is, oldest first. */
  readonly segments: readonly number[];
}

/**
 * Reads every segment of the log in order and applies its frames to a fresh index. In the last
 * segment, a bad spot that only the write in progress at a crash can have left (no later write
 * follows it) is a torn tail: it and what follows are left out, and the writer cuts them off. Anywhere else a bad frame is damage: when its
 * header is sound, its stream is damaged; otherwise every stream open at that point may have
 * lost records, and all of them are.
 */
export async function recoverLog(logDir: string): Promise<RecoveredLog> {
  const segments = await listSegments(logDir);
  const index = new StreamIndex();
  let resume: RecoveredLog['resume'];
  for (const [position, segment] of segments.entries()) {
    const file = path.join(logDir, segmentFileName(segment));
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw fileError(file, 'read', error);
    }
    const last = position === segments.length - 1;
    if (last && bytes.length < SEGMENT_HEADER_BYTES) {
      // A crash while the segment was being created: it never held a frame.
      await rm(file, { force: true });
      return { index, resume: undefined, next: segment, segments: segments.slice(0, -1) };
    }
    const end = applySegment(bytes, segment, file, last, index);
    if (last) resume = { segment, end };
  }
  const newest = segments[segments.length - 1];
  return { index, resume, next: newest === undefined ? 1 : newest + 1, segments };
}

/** Applies one segment's frames; returns where its intact frames end. */
function applySegment(
  bytes: Buffer,
  segment: number,
  file: string,
  last: boolean,
  index: StreamIndex,
): number {
  let offset = SEGMENT_HEADER_BYTES;
  const headerProblem = segmentHeaderProblem(bytes, segment);
  if (headerProblem !== undefined) {
    index.damageOpen(corruptJournal(file, 0, headerProblem));
    const next = nextFrameAfter(bytes, 0);
    if (!next) return offset;
    offset = next.offset;
  }
  while (offset < bytes.length) {
    const frame = frameAt(bytes, offset);
    if (frame && !frame.damaged) {
      applyFrame(frame, bytes, segment, file, index);
      offset += frame.size;
      continue;
    }
    const following = nextFrameAfter(bytes, frame ? offset + frame.size - 1 : offset);
    if (last && !laterWriteFrom(bytes, following, offset)) return offset; // torn tail
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
  file: string,
  index: StreamIndex,
): void {
  const payload = bytes.subarray(frame.offset + frame.payloadAt, frame.offset + frame.size);
  switch (frame.operation) {
    case Operation.append:
      index.append(
        frame.id,
        {
          segment,
          offset: frame.offset,
          size: frame.size,
          first: frame.first,
          count: recordCount(payload),
        },
        (why) => corruptJournal(file, frame.offset, why),
      );
      return;
    case Operation.close: {
      let summary: ReturnType<typeof decodeRecord> | undefined;
      if (payload.length > 0) summary = decodeRecord(payload);
      index.close(frame.id, summary?.ok ? summary.value : undefined);
      return;
    }
    case Operation.remove:
      index.remove(frame.id);
      return;
  }
}

async function listSegments(logDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (error) {
    throw fileError(logDir, 'list', error);
  }
  return names
    .map(segmentNumberOf)
    .filter((segment) => segment !== undefined)
    .sort((a, b) => a - b);
}
