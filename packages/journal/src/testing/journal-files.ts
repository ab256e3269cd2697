import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeFrames, encodeHeader } from '../file-format.js';
import { fileNameOf } from '../file-names.js';
import type { JournalRecord } from '../journal.js';
import { segmentNumberOf } from '../log-writer.js';
import { encodeRecord } from '../record-codec.js';
import { frameAt, SEGMENT_HEADER_BYTES } from '../wal-format.js';

/** Test helpers that reach into a FileJournal's files the way a crash or a bad disk would. */

/** The log's segment files, oldest first. */
export async function segmentFiles(dir: string): Promise<string[]> {
  const logDir = path.join(dir, 'log');
  return (await readdir(logDir))
    .filter((name) => segmentNumberOf(name) !== undefined)
    .sort()
    .map((name) => path.join(logDir, name));
}

export interface FrameLocation {
  readonly file: string;
  readonly offset: number;
  readonly size: number;
  /** Where the payload starts, from `offset`. */
  readonly payloadAt: number;
  readonly id: string;
}

/** Every sound frame of the log, in order (of stream `id` only, when given). */
export async function logFrames(dir: string, id?: string): Promise<FrameLocation[]> {
  const frames: FrameLocation[] = [];
  for (const file of await segmentFiles(dir)) {
    const bytes = await readFile(file);
    for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; ) {
      const frame = frameAt(bytes, offset);
      if (!frame) break;
      if (id === undefined || frame.id === id)
        frames.push({ file, offset, size: frame.size, payloadAt: frame.payloadAt, id: frame.id });
      offset += frame.size;
    }
  }
  return frames;
}

/** Inverts the byte at `offset` of `file`. */
export async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** Damages the payload of stream `id`'s first frame: its header still names the stream. */
export async function damageFirstFrame(dir: string, id: string): Promise<void> {
  const [first] = await logFrames(dir, id);
  if (!first) throw new Error(`no frame of ${id} in ${dir}`);
  await flipByte(first.file, first.offset + first.payloadAt + 2);
}

export async function truncateTo(file: string, length: number): Promise<void> {
  await truncate(file, length);
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

/** Writes a stream file of the format before the log (one file per stream), as it left them. */
export async function writeLegacyStream(
  dir: string,
  id: string,
  records: readonly JournalRecord[],
  closed = false,
): Promise<string> {
  const directory = closed ? path.join(dir, 'closed') : dir;
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, fileNameOf(id));
  await writeFile(file, Buffer.concat([encodeHeader(id), encodeFrames(records.map(encodeRecord))]));
  return file;
}

/** Writes the summaries index of the format before the log. */
export async function writeLegacySummaries(
  dir: string,
  summaries: readonly { readonly id: string; readonly summary?: JournalRecord }[],
): Promise<void> {
  const directory = path.join(dir, 'closed');
  await mkdir(directory, { recursive: true });
  await writeFile(
    path.join(directory, 'summaries.idx'),
    Buffer.concat([
      encodeHeader('closed-stream summaries'),
      encodeFrames(summaries.map((entry) => encodeRecord(entry))),
    ]),
  );
}
