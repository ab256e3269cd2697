import { crc32 } from 'node:zlib';
import { LuactError } from '@luact/core';

/**
 * The journal file format, version 1. All integers are little-endian.
 *
 *   header: "LUACTJNL" | u8 version | u8 0 | u16 ID length | ID (UTF-8) | u32 CRC-32 of the above
 *   frame:  u32 payload length | u32 CRC-32 of the payload | payload (one msgpack record)
 *
 * Frames follow the header back to back; the file ends after the last frame. A crash in the
 * middle of an append can leave only the final frame incomplete (its length runs past the
 * end of the file, or its checksum fails): that frame is torn, not damage.
 */

const MAGIC = Buffer.from('LUACTJNL', 'latin1');
const VERSION = 1;
const HEADER_FIXED = MAGIC.length + 4;
const FRAME_HEADER = 8;

export function encodeHeader(id: string): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const header = Buffer.alloc(HEADER_FIXED + idBytes.length + 4);
  MAGIC.copy(header, 0);
  header.writeUInt8(VERSION, MAGIC.length);
  header.writeUInt16LE(idBytes.length, MAGIC.length + 2);
  idBytes.copy(header, HEADER_FIXED);
  const body = HEADER_FIXED + idBytes.length;
  header.writeUInt32LE(crc32(header.subarray(0, body)), body);
  return header;
}

export interface Header {
  readonly id: string;
  /** Where the first frame starts. */
  readonly end: number;
}

/** The header at the start of `bytes` (a whole file or at least its first 530 bytes). */
export function decodeHeader(bytes: Uint8Array, file: string): Header {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < HEADER_FIXED || !view.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corruptJournal(file, 0, 'not a luact journal file (bad magic)');
  }
  const version = view.readUInt8(MAGIC.length);
  if (version !== VERSION) {
    throw corruptJournal(file, 0, `unknown journal format version ${version}`);
  }
  const body = HEADER_FIXED + view.readUInt16LE(MAGIC.length + 2);
  if (view.length < body + 4) throw corruptJournal(file, 0, 'header cut short');
  if (crc32(view.subarray(0, body)) !== view.readUInt32LE(body)) {
    throw corruptJournal(file, 0, 'header checksum mismatch');
  }
  return { id: view.toString('utf8', HEADER_FIXED, body), end: body + 4 };
}

/** The longest header: a 512-byte ID. Reading this much of a file is enough for its header. */
export const MAX_HEADER_BYTES = HEADER_FIXED + 512 + 4;

/** The frames of `payloads`, back to back: one buffer, so one append is one write. */
export function encodeFrames(payloads: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const payload of payloads) total += FRAME_HEADER + payload.length;
  const frames = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const payload of payloads) {
    frames.writeUInt32LE(payload.length, offset);
    frames.writeUInt32LE(crc32(payload), offset + 4);
    frames.set(payload, offset + FRAME_HEADER);
    offset += FRAME_HEADER + payload.length;
  }
  return frames;
}

export interface Frame {
  /** Where the frame starts in the file. */
  readonly offset: number;
  readonly payload: Buffer;
}

export interface Scan {
  /** The intact frames, in order (up to the damage, if any). */
  readonly frames: Frame[];
  /** Where the intact frames end: the next frame goes here once a torn tail is cut off. */
  readonly end: number;
  /** A bad frame with more data after it: the stream cannot be read past `offset`. */
  readonly damage?: { readonly offset: number; readonly why: string };
}

/**
 * The frames of a journal file from byte `start` (just after the header) to its end. A torn
 * final frame ends the scan without damage (`end` is then less than the file's size).
 */
export function scanFrames(file: Buffer, start: number): Scan {
  const frames: Frame[] = [];
  let offset = start;
  while (offset < file.length) {
    if (file.length - offset < FRAME_HEADER) break; // torn inside the frame header
    const length = file.readUInt32LE(offset);
    const payloadEnd = offset + FRAME_HEADER + length;
    if (payloadEnd > file.length) break; // torn: the length runs past the end
    const payload = file.subarray(offset + FRAME_HEADER, payloadEnd);
    const why =
      length === 0
        ? 'empty frame'
        : crc32(payload) !== file.readUInt32LE(offset + 4)
          ? 'checksum mismatch'
          : undefined;
    if (why !== undefined) {
      if (payloadEnd === file.length) break; // torn: the final frame's bytes did not all land
      return { frames, end: offset, damage: { offset, why } };
    }
    frames.push({ offset, payload });
    offset = payloadEnd;
  }
  return { frames, end: offset };
}

export function corruptJournal(file: string, offset: number, why: string): LuactError {
  return new LuactError('INTERNAL', `${file}: corrupt journal frame at byte ${offset}: ${why}`, {
    retryable: false,
    details: { file, offset },
  });
}
