import type { Pid } from '@luact/process';
import {
  DiscardPolicy,
  type JetStreamManager,
  type MsgRequest,
  RetentionPolicy,
  StorageType,
  type StoredMsg,
} from '@nats-io/jetstream';
import { type MsgHdrs, nanos, headers as newHeaders } from '@nats-io/transport-node';
import { ensureStream } from '../streams.js';
import type { NameEntry } from './names-table.js';

/**
 * Entries kept per name: the winning PUT of a name must stay among them while it is held, so
 * this bounds how many racers for one deleted name may all be accepted (on nats-server 2.9.10
 * R3) before readers can no longer agree: 14 besides the marker and the winner.
 */
export const NAME_HISTORY = 16;

/** Where cluster names live: a KV bucket (`nats kv` can show it), one key per name. */
export interface NameBucket {
  readonly bucket: string;
  readonly stream: string;
  /** Every key of the bucket. */
  readonly filter: string;
  subject(name: string): string;
  /** The name of a key's subject; undefined for a subject that is not one of ours. */
  nameOf(subject: string): string | undefined;
}

export function nameBucket(prefix: string): NameBucket {
  const bucket = `${prefix}_names`;
  const keys = `$KV.${bucket}.`;
  return {
    bucket,
    stream: `KV_${bucket}`,
    filter: `${keys}>`,
    // KV keys allow letters, digits and -/_=. only: names are any printable UTF-8.
    subject: (name) => `${keys}${Buffer.from(name, 'utf8').toString('base64url')}`,
    nameOf: (subject) => {
      if (!subject.startsWith(keys)) return undefined;
      const token = subject.slice(keys.length);
      const name = Buffer.from(token, 'base64url').toString('utf8');
      return Buffer.from(name, 'utf8').toString('base64url') === token ? name : undefined;
    },
  };
}

/** Creates the bucket's stream (settings of a KV bucket with NAME_HISTORY), or brings it in line. */
export async function ensureNameBucket(
  jsm: JetStreamManager,
  names: NameBucket,
  replicas: number,
): Promise<void> {
  await ensureStream(jsm, {
    name: names.stream,
    holds: 'cluster names',
    subjects: [names.filter],
    fixed: { storage: StorageType.File, retention: RetentionPolicy.Limits },
    settings: {
      max_msgs_per_subject: NAME_HISTORY,
      discard: DiscardPolicy.New,
      allow_rollup_hdrs: true,
      deny_delete: true,
      allow_direct: true,
      duplicate_window: nanos(2 * 60_000),
      num_replicas: replicas,
    },
  });
}

export const OPERATION_HEADER = 'KV-Operation';
/** On a delete marker: the era (stream sequence of the winning PUT) it ends. */
export const ERA_HEADER = 'Luact-Era';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A holder's record: the value of a held name. */
export function holderRecord(pid: Pid, node: string, incarnation: number): Uint8Array {
  return encoder.encode(JSON.stringify({ pid, node, incarnation }));
}

export function markerHeaders(era: number): MsgHdrs {
  const headers = newHeaders();
  headers.set(OPERATION_HEADER, 'DEL');
  headers.set(ERA_HEADER, String(era));
  return headers;
}

/**
 * An entry of a name's key as the stream holds it. A PUT whose value is not a holder's record
 * (written by something other than luact) still holds the name, for no process (`pid` '').
 */
export function decodeEntry(
  seq: number,
  headers: MsgHdrs | undefined,
  data: Uint8Array,
): NameEntry {
  const op = headers?.get(OPERATION_HEADER);
  if (op === 'DEL' || op === 'PURGE') {
    const era = Number(headers?.get(ERA_HEADER));
    return Number.isSafeInteger(era) && era > 0
      ? { op: 'delete', seq, era }
      : { op: 'delete', seq };
  }
  try {
    const value = JSON.parse(decoder.decode(data)) as Record<string, unknown>;
    const { pid, node, incarnation } = value;
    if (typeof pid === 'string' && typeof node === 'string' && Number.isSafeInteger(incarnation))
      return { op: 'put', seq, pid: pid as Pid, node, incarnation: incarnation as number };
  } catch {
    // falls through: not a holder's record
  }
  return { op: 'put', seq, pid: '' as Pid, node: '', incarnation: 0 };
}

/** The last entry of `subject`, read from the stream leader (replicas may lag). */
export async function lastEntry(
  jsm: JetStreamManager,
  names: NameBucket,
  subject: string,
): Promise<NameEntry | undefined> {
  return entryOf(await jsm.streams.getMessage(names.stream, { last_by_subj: subject }));
}

/** The first entry of `subject` at or after stream sequence `seq`, read from the stream leader. */
export async function entryFrom(
  jsm: JetStreamManager,
  names: NameBucket,
  subject: string,
  seq: number,
): Promise<NameEntry | undefined> {
  // STREAM.MSG.GET takes next_by_subj on 2.9.10; the client's type leaves it out.
  const query = { seq, next_by_subj: subject } as unknown as MsgRequest;
  return entryOf(await jsm.streams.getMessage(names.stream, query));
}

function entryOf(message: StoredMsg | null): NameEntry | undefined {
  return message === null ? undefined : decodeEntry(message.seq, message.header, message.data);
}
