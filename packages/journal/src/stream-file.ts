import { isMissing, readFileAt } from './fd-io.js';
import { fileError } from './file-errors.js';
import { corruptJournal, decodeHeader, type Scan, scanFrames } from './file-format.js';
import type { FilePool } from './file-pool.js';
import type { JournalRecord } from './journal.js';
import { decodeRecord } from './record-codec.js';

/** One stream's journal file as read from disk. */
export interface StreamFile {
  readonly path: string;
  /** The stream ID from the header. */
  readonly id: string;
  /** The file's size when read. */
  readonly size: number;
  readonly scan: Scan;
}

/**
 * Reads the journal file at `path` (undefined when there is none). With `id`, the header must
 * name that stream: a file under the wrong name is damage, not another stream's records.
 */
export async function readStreamFile(
  pool: FilePool,
  path: string,
  id?: string,
): Promise<StreamFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await pool.use(path, 'r+', (fd) => readFileAt(fd));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw fileError(path, 'read', error);
  }
  const header = decodeHeader(bytes, path);
  if (id !== undefined && header.id !== id) {
    throw corruptJournal(path, 0, `header names stream ${JSON.stringify(header.id)}`);
  }
  return { path, id: header.id, size: bytes.length, scan: scanFrames(bytes, header.end) };
}

/** The records of a stream file: damage, or a payload that does not decode, is INTERNAL. */
export function recordsOf(file: StreamFile): JournalRecord[] {
  const { damage, frames } = file.scan;
  if (damage) throw corruptJournal(file.path, damage.offset, damage.why);
  return frames.map((frame) => {
    const decoded = decodeRecord(frame.payload);
    if (!decoded.ok) throw corruptJournal(file.path, frame.offset, decoded.error);
    return decoded.value;
  });
}
