import type { ClosedStream, JournalRecord, StreamInfo } from '@luact/journal';
import { decodeRecord } from '@luact/journal';
import { resolveChain } from './journal-chain.js';
import { tryEntry } from './journal-entries.js';
import type { JournalReader } from './journal-reader.js';
import { isClosed } from './journal-state.js';

/**
 * Which journals a stream holds, and which are closed: from the stream's per-subject counts of
 * entries and close markers, reading messages only for chain lengths (headers) and summaries.
 */

/** Every journal with its chain's length: reads the entries' headers (not their payloads). */
export async function listJournals(reader: JournalReader): Promise<StreamInfo[]> {
  const { entries, closed } = await countJournals(reader);
  if (Object.keys(entries).length === 0) return [];
  const messages = await reader.readAll(reader.subjects.everyJournal, true);
  const journals: StreamInfo[] = [];
  for (const [id, found] of reader.groupEntries(messages)) {
    // A damaged journal is listed with the records before the damage (reading it says why).
    const chain = resolveChain(found.flatMap((message) => tryEntry(id, message)));
    journals.push({
      id,
      length: chain.length,
      closed: isClosed(closed.has(id), chain, found.length),
    });
  }
  return journals;
}

/** Every journal with entries, and whether it is closed. */
export async function journalIds(reader: JournalReader): Promise<Omit<StreamInfo, 'length'>[]> {
  const { entries, closed } = await countJournals(reader);
  return [...idsIn(reader, entries)].map((id) => ({ id, closed: closed.has(id) }));
}

/** The closed journals with the summaries their close markers carry. */
export async function closedJournals(reader: JournalReader): Promise<ClosedStream[]> {
  const { subjects } = reader;
  const { entries, closed: marked } = await countJournals(reader);
  // A marker without entries is what a removal cut short leaves: that journal is gone.
  const closed = [...marked].filter((id) => (entries[subjects.entries(id)] ?? 0) > 0);
  if (closed.length === 0) return [];
  const summaries = new Map<string, JournalRecord>();
  for (const message of await reader.readAll(subjects.everyCloseMarker)) {
    const id = subjects.idOf(message.subject);
    // An empty marker was closed without a summary; one that does not decode counts as such.
    const decoded = message.data.length > 0 ? decodeRecord(message.data) : undefined;
    if (id !== undefined && decoded?.ok) summaries.set(id, decoded.value);
  }
  return closed.map((id) => {
    const summary = summaries.get(id);
    return summary === undefined ? { id } : { id, summary };
  });
}

/** Entries per journal subject, and the IDs whose close marker is there. */
async function countJournals(
  reader: JournalReader,
): Promise<{ entries: Record<string, number>; closed: Set<string> }> {
  const [entries, markers] = await Promise.all([
    reader.counts(reader.subjects.everyJournal),
    reader.counts(reader.subjects.everyCloseMarker),
  ]);
  return { entries, closed: idsIn(reader, markers) };
}

/** The journal IDs of the subjects that hold messages. */
function idsIn(reader: JournalReader, counts: Record<string, number>): Set<string> {
  const ids = new Set<string>();
  for (const [subject, count] of Object.entries(counts)) {
    const id = reader.subjects.idOf(subject);
    if (id !== undefined && count > 0) ids.add(id);
  }
  return ids;
}
