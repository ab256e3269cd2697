/**
 * A link's batch as one buffer (see ThreadLink): mail in a binary frame of its own — the hot
 * record — and every other record (rare) in the structured-clone form `node:v8` writes. One
 * buffer per batch is transferred, not copied, and a payload read back is a view of it.
 *
 * Frame: kind u8, length u32, body. Mail body: to, from, topic, origin as u16-length UTF-8
 * (0xFFFF: absent; all four are far shorter, VALUE_LIMITS), then the payload as a u32-length
 * run of bytes.
 */
import { deserialize, serialize } from 'node:v8';
import type { Envelope, Pid } from '@luact/process';
import type { ThreadRecord } from './thread-records.js';

const MAIL = 1;
const OTHER = 2;
const ABSENT = 0xffff;
const HEADER = 5;

export function encodeBatch(records: readonly ThreadRecord[]): ArrayBuffer {
  const others = records.map((record) => (record.t === 'mail' ? undefined : serialize(record)));
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as ThreadRecord;
    size +=
      HEADER + (record.t === 'mail' ? mailSize(record.envelope) : (others[i] as Buffer).length);
  }
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as ThreadRecord;
    const start = at + HEADER;
    let end: number;
    if (record.t === 'mail') {
      out[at] = MAIL;
      end = writeMail(out, start, record.envelope);
    } else {
      out[at] = OTHER;
      end = start + (others[i] as Buffer).copy(out, start);
    }
    out.writeUInt32LE(end - start, at + 1);
    at = end;
  }
  return out.buffer.byteLength === size ? out.buffer : out.buffer.slice(out.byteOffset, size);
}

export function decodeBatch(buffer: ArrayBuffer): ThreadRecord[] {
  const bytes = Buffer.from(buffer);
  const records: ThreadRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    const kind = bytes[at];
    const length = bytes.readUInt32LE(at + 1);
    const start = at + HEADER;
    at = start + length;
    if (kind === MAIL) records.push({ t: 'mail', envelope: readMail(bytes, start) });
    else records.push(deserialize(bytes.subarray(start, at)) as ThreadRecord);
  }
  return records;
}

function mailSize(envelope: Envelope): number {
  return (
    8 +
    Buffer.byteLength(envelope.to) +
    (envelope.from === undefined ? 0 : Buffer.byteLength(envelope.from)) +
    Buffer.byteLength(envelope.topic) +
    (envelope.origin === undefined ? 0 : Buffer.byteLength(envelope.origin)) +
    4 +
    envelope.payload.byteLength
  );
}

function writeMail(out: Buffer, at: number, envelope: Envelope): number {
  at = writeText(out, at, envelope.to);
  at = writeText(out, at, envelope.from);
  at = writeText(out, at, envelope.topic);
  at = writeText(out, at, envelope.origin);
  out.writeUInt32LE(envelope.payload.byteLength, at);
  out.set(envelope.payload, at + 4);
  return at + 4 + envelope.payload.byteLength;
}

function writeText(out: Buffer, at: number, text: string | undefined): number {
  if (text === undefined) {
    out.writeUInt16LE(ABSENT, at);
    return at + 2;
  }
  const length = out.write(text, at + 2, 'utf8');
  out.writeUInt16LE(length, at);
  return at + 2 + length;
}

function readMail(bytes: Buffer, at: number): Envelope {
  const to = readText(bytes, at);
  const from = readText(bytes, to.end);
  const topic = readText(bytes, from.end);
  const origin = readText(bytes, topic.end);
  const length = bytes.readUInt32LE(origin.end);
  const payloadAt = bytes.byteOffset + origin.end + 4;
  const envelope = {
    to: to.text as Pid,
    from: from.text as Pid | undefined,
    topic: topic.text as string,
    payload: new Uint8Array(bytes.buffer, payloadAt, length),
  };
  return origin.text === undefined ? envelope : { ...envelope, origin: origin.text };
}

function readText(bytes: Buffer, at: number): { text: string | undefined; end: number } {
  const length = bytes.readUInt16LE(at);
  if (length === ABSENT) return { text: undefined, end: at + 2 };
  return { text: bytes.toString('utf8', at + 2, at + 2 + length), end: at + 2 + length };
}
