import { crc32 } from 'node:zlib';
import { corruptJournal } from './file-format.js';

/**
 * The write-ahead log format, version 1: the file journal's streams share numbered segment
 * files, so one write and one fdatasync carry the appends of many streams. Little-endian.
 *
 *   segment header: "LUACTWAL" | u8 version | u8 0 | u16 0 | u32 segment number | u32 CRC-32
 *   frame header:   u32 payload length | u32 payload CRC-32 | u8 operation | u8 0 |
 *                   u16 ID length | u32 first | u32 batch start | ID (UTF-8) | u32 CRC-32
 *   payload:        APPEND:   u32 count, then per record u32 length | msgpack record
 *                   CLOSE:    the msgpack summary, or nothing
 *                   REMOVE:   nothing
 *                   SNAPSHOT: u32 segment | u32 offset (a position in the log), then the
 *                             records as in APPEND: the whole stream, replacing what came before
 *                   ARCHIVED: (in an archive's index file) u32 offset | u32 size | u32 count
 *                             of its SNAPSHOT frame in the archive, u32 segment | u32 offset of
 *                             the log position it covers, then the msgpack summary, or nothing
 *
 * The frame header has its own checksum, so a frame whose payload is damaged still names its
 * stream (that stream is damaged, the others are not), and a scan can step over it. `first` is
 * the position of an APPEND's first record in its stream. `batch start` is where the write that
 * carried the frame began in the segment: a crash during a write can only tear frames of that
 * one write, which is how recovery tells a torn tail from damage.
 */

const MAGIC = Buffer.from('LUACTWAL', 'latin1');
const VERSION = 1;
export const SEGMENT_HEADER_BYTES = MAGIC.length + 4 + 4 + 4;
const FRAME_FIXED = 20;
/** The most bytes a frame header takes: a 512-byte ID. */
const MAX_ID_BYTES = 512;

export const Operation = { append: 1, close: 2, remove: 3, snapshot: 4, archived: 5 } as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export function encodeSegmentHeader(segment: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(VERSION, MAGIC.length);
  header.writeUInt32LE(segment, MAGIC.length + 4);
  header.writeUInt32LE(
    crc32(header.subarray(0, SEGMENT_HEADER_BYTES - 4)),
    SEGMENT_HEADER_BYTES - 4,
  );
  return header;
}

/** Why `bytes` do not start with the header of segment `segment`, or undefined when they do. */
export function segmentHeaderProblem(bytes: Buffer, segment: number): string | undefined {
  if (bytes.length < SEGMENT_HEADER_BYTES) return 'segment header cut short';
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a luact log segment (bad magic)';
  const version = bytes.readUInt8(MAGIC.length);
  if (version !== VERSION) return `unknown log format version ${version}`;
  if (
    crc32(bytes.subarray(0, SEGMENT_HEADER_BYTES - 4)) !==
    bytes.readUInt32LE(SEGMENT_HEADER_BYTES - 4)
  )
    return 'segment header checksum mismatch';
  const named = bytes.readUInt32LE(MAGIC.length + 4);
  if (named !== segment) return `segment header names segment ${named}`;
  return undefined;
}

/**
 * A frame ready to be written except for where its write begins: the log writer fills in the
 * batch start (and with it the header checksum) when it places the frame.
 */
export interface PendingFrame {
  readonly bytes: Buffer;
  /** Where the header checksum goes (it follows the ID). */
  readonly headerEnd: number;
}

export function appendFrame(
  id: string,
  first: number,
  records: readonly Uint8Array[],
): PendingFrame {
  const { frame, payloadAt } = allocateFrame(Operation.append, id, first, recordsBytes(records));
  writeRecords(frame.bytes, payloadAt, records);
  sealPayload(frame.bytes, payloadAt);
  return frame;
}

/** The bytes `writeRecords` takes for `records`: a count, then each with its length. */
function recordsBytes(records: readonly Uint8Array[]): number {
  let total = 4;
  for (const record of records) total += 4 + record.length;
  return total;
}

function writeRecords(bytes: Buffer, start: number, records: readonly Uint8Array[]): void {
  let at = start;
  bytes.writeUInt32LE(records.length, at);
  at += 4;
  for (const record of records) {
    bytes.writeUInt32LE(record.length, at);
    bytes.set(record, at + 4);
    at += 4 + record.length;
  }
}

/** A place in the log: frames before it are older than a snapshot that names it. */
export interface LogPosition {
  readonly segment: number;
  readonly offset: number;
}

export function isBefore(a: LogPosition, b: LogPosition): boolean {
  return a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);
}

/**
 * The whole of a stream in one frame: compaction copies an open stream's records forward this
 * way, and archives a closed one (then `watermark` says which log frames it already holds).
 */
export function snapshotFrame(
  id: string,
  watermark: LogPosition,
  records: readonly Uint8Array[],
): PendingFrame {
  const payloadLength = SNAPSHOT_PREFIX + recordsBytes(records);
  const { frame, payloadAt } = allocateFrame(Operation.snapshot, id, 0, payloadLength);
  const bytes = frame.bytes;
  bytes.writeUInt32LE(watermark.segment, payloadAt);
  bytes.writeUInt32LE(watermark.offset, payloadAt + 4);
  writeRecords(bytes, payloadAt + SNAPSHOT_PREFIX, records);
  sealPayload(bytes, payloadAt);
  return frame;
}

const SNAPSHOT_PREFIX = 8;

/** The log position a SNAPSHOT frame's payload names. */
export function watermarkOf(payload: Buffer): LogPosition {
  return { segment: payload.readUInt32LE(0), offset: payload.readUInt32LE(4) };
}

/** Where an archived stream's SNAPSHOT frame lies in its archive, for the archive's index. */
export interface ArchivedEntry {
  readonly id: string;
  readonly offset: number;
  readonly size: number;
  readonly count: number;
  readonly watermark: LogPosition;
  readonly summary: Uint8Array | undefined;
}

const ARCHIVED_FIXED = 20;

export function archivedFrame(entry: ArchivedEntry): PendingFrame {
  const summaryLength = entry.summary?.length ?? 0;
  const { frame, payloadAt } = allocateFrame(
    Operation.archived,
    entry.id,
    0,
    ARCHIVED_FIXED + summaryLength,
  );
  const bytes = frame.bytes;
  bytes.writeUInt32LE(entry.offset, payloadAt);
  bytes.writeUInt32LE(entry.size, payloadAt + 4);
  bytes.writeUInt32LE(entry.count, payloadAt + 8);
  bytes.writeUInt32LE(entry.watermark.segment, payloadAt + 12);
  bytes.writeUInt32LE(entry.watermark.offset, payloadAt + 16);
  if (entry.summary) bytes.set(entry.summary, payloadAt + ARCHIVED_FIXED);
  sealPayload(bytes, payloadAt);
  return frame;
}

/** The entry an ARCHIVED frame's (sound) payload holds; undefined when it is too short. */
export function archivedEntryOf(id: string, payload: Buffer): ArchivedEntry | undefined {
  if (payload.length < ARCHIVED_FIXED) return undefined;
  return {
    id,
    offset: payload.readUInt32LE(0),
    size: payload.readUInt32LE(4),
    count: payload.readUInt32LE(8),
    watermark: { segment: payload.readUInt32LE(12), offset: payload.readUInt32LE(16) },
    summary:
      payload.length > ARCHIVED_FIXED
        ? Uint8Array.prototype.slice.call(payload, ARCHIVED_FIXED)
        : undefined,
  };
}

export function closeFrame(id: string, summary: Uint8Array | undefined): PendingFrame {
  const { frame, payloadAt } = allocateFrame(Operation.close, id, 0, summary?.length ?? 0);
  if (summary) frame.bytes.set(summary, payloadAt);
  sealPayload(frame.bytes, payloadAt);
  return frame;
}

export function removeFrame(id: string): PendingFrame {
  const { frame, payloadAt } = allocateFrame(Operation.remove, id, 0, 0);
  sealPayload(frame.bytes, payloadAt);
  return frame;
}

function allocateFrame(
  operation: Operation,
  id: string,
  first: number,
  payloadLength: number,
): { frame: PendingFrame; payloadAt: number } {
  const idLength = Buffer.byteLength(id, 'utf8');
  const headerEnd = FRAME_FIXED + idLength;
  const bytes = Buffer.allocUnsafe(headerEnd + 4 + payloadLength);
  bytes.writeUInt32LE(payloadLength, 0);
  bytes.writeUInt8(operation, 8);
  bytes.writeUInt8(0, 9);
  bytes.writeUInt16LE(idLength, 10);
  bytes.writeUInt32LE(first, 12);
  bytes.write(id, FRAME_FIXED, 'utf8');
  return { frame: { bytes, headerEnd }, payloadAt: headerEnd + 4 };
}

function sealPayload(bytes: Buffer, payloadAt: number): void {
  bytes.writeUInt32LE(crc32(bytes.subarray(payloadAt)), 4);
}

/** Completes `frame` for a write that begins at `batchStart`. */
export function placeFrame(frame: PendingFrame, batchStart: number): void {
  frame.bytes.writeUInt32LE(batchStart, 16);
  frame.bytes.writeUInt32LE(crc32(frame.bytes.subarray(0, frame.headerEnd)), frame.headerEnd);
}

/** A frame as a scan finds it. */
export interface FrameAt {
  readonly offset: number;
  /** Bytes from `offset` to the frame's end. */
  readonly size: number;
  readonly operation: Operation;
  readonly id: string;
  readonly first: number;
  readonly batchStart: number;
  /** Where the payload starts, relative to `offset`. */
  readonly payloadAt: number;
  /** Set when the header is sound but the payload's checksum fails. */
  readonly damaged: boolean;
}

/**
 * The frame at `offset` of `bytes` when its header is sound and the whole frame lies within
 * `bytes`; undefined otherwise (torn, damaged, or not a frame start at all).
 */
export function frameAt(bytes: Buffer, offset: number, checkPayload = true): FrameAt | undefined {
  if (bytes.length - offset < FRAME_FIXED + 4) return undefined;
  const operation = bytes.readUInt8(offset + 8);
  const idLength = bytes.readUInt16LE(offset + 10);
  if (operation < Operation.append || operation > Operation.archived) return undefined;
  if (bytes.readUInt8(offset + 9) !== 0 || idLength === 0 || idLength > MAX_ID_BYTES)
    return undefined;
  const headerEnd = offset + FRAME_FIXED + idLength;
  if (bytes.length < headerEnd + 4) return undefined;
  if (crc32(bytes.subarray(offset, headerEnd)) !== bytes.readUInt32LE(headerEnd)) return undefined;
  const payloadAt = headerEnd + 4 - offset;
  const size = payloadAt + bytes.readUInt32LE(offset);
  if (offset + size > bytes.length) return undefined;
  return {
    offset,
    size,
    operation: operation as Operation,
    id: bytes.toString('utf8', offset + FRAME_FIXED, headerEnd),
    first: bytes.readUInt32LE(offset + 12),
    batchStart: bytes.readUInt32LE(offset + 16),
    payloadAt,
    damaged:
      checkPayload &&
      crc32(bytes.subarray(offset + payloadAt, offset + size)) !== bytes.readUInt32LE(offset + 4),
  };
}

/** The next offset after `from` where a sound frame header starts, or undefined. */
export function nextFrameAfter(bytes: Buffer, from: number): FrameAt | undefined {
  for (let offset = from + 1; offset + FRAME_FIXED + 4 <= bytes.length; offset++) {
    const frame = frameAt(bytes, offset);
    if (frame) return frame;
  }
  return undefined;
}

/** Where the records of an APPEND or SNAPSHOT frame's payload start. */
function recordsStart(operation: Operation): number {
  return operation === Operation.snapshot ? SNAPSHOT_PREFIX : 0;
}

/** The encoded records of an APPEND or SNAPSHOT frame's payload (which must be sound). */
export function recordsIn(
  payload: Buffer,
  operation: Operation,
  file: () => string,
  offset: number,
): Buffer[] {
  const start = recordsStart(operation);
  if (payload.length < start + 4)
    throw corruptJournal(file(), offset, 'frame without a record count');
  const count = payload.readUInt32LE(start);
  const records: Buffer[] = [];
  let at = start + 4;
  for (let index = 0; index < count; index++) {
    if (at + 4 > payload.length) throw corruptJournal(file(), offset, 'frame cut short');
    const length = payload.readUInt32LE(at);
    if (at + 4 + length > payload.length) throw corruptJournal(file(), offset, 'frame cut short');
    records.push(payload.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return records;
}

/**
 * How many records the APPEND or SNAPSHOT frame `frame` of `bytes` says it holds (0 for a
 * payload too short to say: reading the frame then fails).
 */
export function recordCount(bytes: Buffer, frame: FrameAt): number {
  const at = frame.offset + frame.payloadAt + recordsStart(frame.operation);
  return at + 4 > frame.offset + frame.size ? 0 : bytes.readUInt32LE(at);
}
