import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { LuactError } from '@luact/core';
import { isMissing, syncDirectory } from './fd-io.js';
import { fileError } from './file-errors.js';
import { corruptJournal, decodeHeader, scanFrames } from './file-format.js';
import { isJournalFileName } from './file-names.js';
import type { JournalRecord } from './journal.js';
import type { LogWriter } from './log-writer.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { chunkAt, type StreamIndex } from './stream-index.js';
import { appendFrame, closeFrame } from './wal-format.js';

/** Where journals before the log kept closed streams, and the summaries they were closed with. */
const LEGACY_CLOSED_DIR = 'closed';
const LEGACY_SUMMARIES = 'summaries.idx';
const LEGACY_SUMMARIES_NAME = 'closed-stream summaries';

/** A stream file of the earlier format, read. */
interface LegacyStream {
  readonly file: string;
  readonly id: string;
  readonly records: readonly Uint8Array[];
  readonly closed: boolean;
  /** Set when the file is damaged: it stays where it is, and its stream reads as damaged. */
  readonly damage?: LuactError;
}

/**
 * Moves streams a journal of the earlier format (one file per stream, closed ones in `closed/`)
 * left in `dir` into the log: their records and closes are appended, synced, and only then are
 * the old files deleted. A crash in between imports them again at the next open: a stream the
 * log has already is only closed if it should be. A damaged file is left in place, and its
 * stream reads as damaged, naming the file.
 */
export async function importLegacyStreams(
  dir: string,
  index: StreamIndex,
  writer: LogWriter,
): Promise<void> {
  const closedDir = path.join(dir, LEGACY_CLOSED_DIR);
  const [open, closed] = await Promise.all([
    legacyStreams(dir, false),
    legacyStreams(closedDir, true),
  ]);
  if (open.length + closed.length === 0) return;
  const summaries = await legacySummaries(path.join(closedDir, LEGACY_SUMMARIES));
  const writes: Promise<unknown>[] = [];
  const imported: string[] = [];
  for (const stream of [...open, ...closed]) {
    if (stream.damage) {
      if (!index.get(stream.id)) index.addDamaged(stream.id, stream.records.length, stream.damage);
      continue;
    }
    const { id, records } = stream;
    const known = index.get(id);
    if (!known && records.length > 0) {
      writes.push(
        writer
          .submit(appendFrame(id, 0, records))
          .then((placement) => index.append(id, chunkAt(placement, 0, records.length))),
      );
    }
    if (stream.closed && !known?.closed && records.length > 0) {
      const known = summaries.get(id);
      const summary = known && encodeRecord(known);
      writes.push(writer.submit(closeFrame(id, summary)).then(() => index.close(id, summary)));
    }
    imported.push(stream.file);
  }
  await Promise.all(writes);
  await writer.flush();
  // The log holds them durably now: the old files can go.
  await Promise.all(imported.map((file) => rm(file, { force: true })));
  if (closed.length > 0) await rm(path.join(closedDir, LEGACY_SUMMARIES), { force: true });
  await rmdir(closedDir).catch(() => {}); // only when nothing (damaged) is left in it
  await syncDirectory(dir);
}

async function legacyStreams(directory: string, closed: boolean): Promise<LegacyStream[]> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter(isJournalFileName);
  } catch (error) {
    if (isMissing(error)) return [];
    throw fileError(directory, 'list', error);
  }
  const streams: LegacyStream[] = [];
  for (const name of names) {
    const file = path.join(directory, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw fileError(file, 'read', error);
    }
    let header: ReturnType<typeof decodeHeader>;
    try {
      header = decodeHeader(bytes, file);
    } catch {
      continue; // no stream can be named from it: leave it alone
    }
    const scan = scanFrames(bytes, header.end);
    const records = scan.frames.map((frame) => frame.payload);
    const undecodable = scan.frames.find((frame) => !decodeRecord(frame.payload).ok);
    const damage = scan.damage
      ? corruptJournal(file, scan.damage.offset, scan.damage.why)
      : undecodable && corruptJournal(file, undecodable.offset, 'undecodable payload');
    streams.push({ file, id: header.id, records, closed, ...(damage ? { damage } : {}) });
  }
  return streams;
}

/** The summaries of the earlier format's index; a later frame for an ID wins. */
async function legacySummaries(file: string): Promise<Map<string, JournalRecord>> {
  const summaries = new Map<string, JournalRecord>();
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return summaries; // none, or unreadable: streams are listed without a summary
  }
  let start: number;
  try {
    const header = decodeHeader(bytes, file);
    if (header.id !== LEGACY_SUMMARIES_NAME) return summaries;
    start = header.end;
  } catch {
    return summaries;
  }
  for (const frame of scanFrames(bytes, start).frames) {
    const decoded = decodeRecord(frame.payload);
    if (!decoded.ok || typeof decoded.value.id !== 'string') continue;
    const summary = decoded.value.summary;
    if (typeof summary === 'object' && summary !== null && !Array.isArray(summary))
      summaries.set(decoded.value.id, summary as JournalRecord);
    else summaries.delete(decoded.value.id);
  }
  return summaries;
}
