import { LuactError } from '@luact/core';
import { decodeRecord, type JournalRecord } from '@luact/journal';
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { Chain, ChainEntry, EntryKind } from './journal-chain.js';
import { packRecords, runsThatFit, unpackRecords } from './packed-records.js';

/**
 * How a journal entry is stored: one JetStream message, its payload the record's msgpack bytes
 * (`record`), several records packed (`records`, packed-records.ts), the summary for a close
 * entry, nothing for a fence; its chain facts in headers so a reader can resolve the chain, and
 * count records, without payloads (`headers_only`).
 */

/** A journal message with its chain facts. */
export interface Entry extends ChainEntry {
  readonly subject: string;
  readonly data: Uint8Array;
}

/** Chain facts of each entry, in headers so a reader can resolve chains without payloads. */
export const EPOCH_HEADER = 'Luact-Epoch';
export const PREV_HEADER = 'Luact-Prev';
export const KIND_HEADER = 'Luact-Entry';
/** The records a `records` entry holds (the other kinds say it by their kind). */
export const COUNT_HEADER = 'Luact-Records';
const KINDS: readonly EntryKind[] = ['record', 'records', 'fence', 'close'];

/** An entry about to be published: what it is, its payload and the records it holds. */
export interface OutgoingEntry {
  readonly kind: EntryKind;
  readonly payload: Uint8Array;
  readonly count: number;
}

/**
 * The entries that store the encoded records of one append: one, unless its payload would pass
 * `limit` bytes; then as few as fit, in order. A run of one record is a plain `record` entry
 * (the layout every luact reads), longer runs are packed.
 */
export function recordEntries(encoded: readonly Uint8Array[], limit: number): OutgoingEntry[] {
  return runsThatFit(encoded, limit).map((run) =>
    run.length === 1
      ? { kind: 'record', payload: run[0] as Uint8Array, count: 1 }
      : { kind: 'records', payload: packRecords(run), count: run.length },
  );
}

/** The headers of `entry` written at `epoch` following stream sequence `prev`. */
export function entryHeaders(epoch: number, prev: number, entry: OutgoingEntry): MsgHdrs {
  const found = headers();
  found.set(EPOCH_HEADER, String(epoch));
  found.set(PREV_HEADER, String(prev));
  found.set(KIND_HEADER, entry.kind);
  if (entry.kind === 'records') found.set(COUNT_HEADER, String(entry.count));
  return found;
}

/** The chain facts of a journal message; a message without them is damage. */
export function entryOf(id: string, message: JsMsg | StoredMsg): Entry {
  const found = headersOf(message);
  const epoch = Number(found?.get(EPOCH_HEADER) || Number.NaN);
  const prev = Number(found?.get(PREV_HEADER) || Number.NaN);
  const kind = found?.get(KIND_HEADER) as EntryKind;
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(prev) || prev < 0) {
    throw damaged(id, message, `no valid ${EPOCH_HEADER} and ${PREV_HEADER} headers`);
  }
  if (!KINDS.includes(kind)) throw damaged(id, message, `no valid ${KIND_HEADER} header`);
  return {
    seq: message.seq,
    epoch,
    prev,
    kind,
    count: countOf(id, message, kind, found),
    subject: message.subject,
    data: message.data,
  };
}

function countOf(
  id: string,
  message: JsMsg | StoredMsg,
  kind: EntryKind,
  found: MsgHdrs | undefined,
): number {
  switch (kind) {
    case 'record':
      return 1;
    case 'records': {
      const count = Number(found?.get(COUNT_HEADER) || Number.NaN);
      if (!Number.isSafeInteger(count) || count < 1) {
        throw damaged(id, message, `a records entry without a valid ${COUNT_HEADER} header`);
      }
      return count;
    }
    case 'fence':
    case 'close':
      return 0;
    default:
      return kind satisfies never;
  }
}

/** `entryOf`, or nothing for a message without chain facts (listing goes on without it). */
export function tryEntry(id: string, message: JsMsg): Entry[] {
  try {
    return [entryOf(id, message)];
  } catch {
    return [];
  }
}

/** The encoded records of `chain`, from record `from` on. */
export function storedRecords(id: string, chain: Chain<Entry>, from = 0): Uint8Array[] {
  return chain.recordEntries.flatMap((entry) => recordsIn(id, entry)).slice(from);
}

/** The records of `chain`, decoded; one that does not decode is damage naming its entry. */
export function decodeRecords(id: string, chain: Chain<Entry>): JournalRecord[] {
  return chain.recordEntries.flatMap((entry) => {
    const records = recordsIn(id, entry);
    return records.map((bytes, index) => {
      const decoded = decodeRecord(bytes);
      if (decoded.ok) return decoded.value;
      const which = entry.kind === 'records' ? `record ${index} of ${records.length}: ` : '';
      throw damaged(id, entry, `${which}${decoded.error}`);
    });
  });
}

/** The encoded records `entry` holds (`count` of them, else it is damaged). */
function recordsIn(id: string, entry: Entry): Uint8Array[] {
  if (entry.kind === 'record') return [entry.data];
  const unpacked = unpackRecords(entry.data);
  if (!unpacked.ok) throw damaged(id, entry, unpacked.error);
  if (unpacked.value.length !== entry.count) {
    throw damaged(
      id,
      entry,
      `its payload holds ${unpacked.value.length} records, its ${COUNT_HEADER} header says ${entry.count}`,
    );
  }
  return unpacked.value;
}

function headersOf(message: JsMsg | StoredMsg): MsgHdrs | undefined {
  return 'headers' in message ? message.headers : message.header;
}

/** Is the stored `holder` the very message this writer published (an earlier attempt)? */
export function sameMessage(holder: StoredMsg, payload: Uint8Array, sent: MsgHdrs): boolean {
  for (const key of [EPOCH_HEADER, PREV_HEADER, KIND_HEADER, COUNT_HEADER]) {
    if (holder.header?.get(key) !== sent.get(key)) return false;
  }
  return Buffer.from(holder.data).equals(payload);
}

export function damaged(
  id: string,
  message: { readonly subject: string; readonly seq: number },
  why: string,
): LuactError {
  return new LuactError(
    'INTERNAL',
    `journal ${id}: damaged entry on subject ${message.subject} at sequence ${message.seq}: ${why}`,
    { retryable: false, details: { stream: id, subject: message.subject, sequence: message.seq } },
  );
}
