import { LuactError } from '@luact/core';
import { decodeRecord, type JournalRecord } from '@luact/journal';
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { ChainEntry, EntryKind } from './journal-chain.js';

/**
 * How a journal entry is stored: one JetStream message, its payload the record's msgpack
 * bytes (the summary for a close entry, nothing for a fence), its chain facts in headers so
 * a reader can resolve the chain without payloads (`headers_only`).
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
const KINDS: readonly EntryKind[] = ['record', 'fence', 'close'];

/** The headers of an entry written at `epoch` following stream sequence `prev`. */
export function entryHeaders(epoch: number, prev: number, kind: EntryKind): MsgHdrs {
  const found = headers();
  found.set(EPOCH_HEADER, String(epoch));
  found.set(PREV_HEADER, String(prev));
  found.set(KIND_HEADER, kind);
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
  return { seq: message.seq, epoch, prev, kind, subject: message.subject, data: message.data };
}

/** `entryOf`, or nothing for a message without chain facts (listing goes on without it). */
export function tryEntry(id: string, message: JsMsg): Entry[] {
  try {
    return [entryOf(id, message)];
  } catch {
    return [];
  }
}

export function decodeEntry(id: string, entry: Entry): JournalRecord {
  const decoded = decodeRecord(entry.data);
  if (!decoded.ok) throw damaged(id, entry, decoded.error);
  return decoded.value;
}

function headersOf(message: JsMsg | StoredMsg): MsgHdrs | undefined {
  return 'headers' in message ? message.headers : message.header;
}

/** Is the stored `holder` the very message this writer published (an earlier attempt)? */
export function sameMessage(holder: StoredMsg, payload: Uint8Array, sent: MsgHdrs): boolean {
  for (const key of [EPOCH_HEADER, PREV_HEADER, KIND_HEADER]) {
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
