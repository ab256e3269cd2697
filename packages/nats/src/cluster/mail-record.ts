import { type ErrorData, err, isErrorKind, LuactError, ok, type Result } from '@luact/core';
import type { Envelope, ExitOutcome, Pid, Signal } from '@luact/process';
import { Packr } from 'msgpackr';

/** Who sent a record: a node and the incarnation of it that was running. */
export interface NodeIncarnation {
  readonly node: string;
  readonly incarnation: number;
}

/** An envelope without its payload: what travels when the payload went to the object store. */
export type EnvelopeHead = Omit<Envelope, 'payload'>;

/** What one record carries: a message (its payload inline or by reference) or a signal. */
export type MailBody =
  | { readonly kind: 'message'; readonly envelope: Envelope }
  | {
      readonly kind: 'message-by-reference';
      readonly envelope: EnvelopeHead;
      /** The object-store name holding the payload. */
      readonly blob: string;
      readonly size: number;
    }
  | { readonly kind: 'signal'; readonly signal: Signal };

/**
 * One record on the mail stream. Messages and signals share `seq`, numbered from 1 per sender
 * incarnation and receiving node, so signals keep their place among messages.
 */
export interface MailRecord {
  readonly sender: NodeIncarnation;
  readonly seq: number;
  /**
   * The lowest sequence the sender had not yet seen stored when it sent this record (≤ seq):
   * a receiver meeting this sender for the first time waits for records from there on, and
   * knows everything below was stored before this record and so came earlier on the stream.
   */
  readonly base: number;
  /** Earlier sequences the sender gave up on (never acknowledged): nobody waits for them. */
  readonly skipped: readonly number[];
  readonly body: MailBody;
}

/** The record's wire version; a receiver refuses others rather than guess. */
const WIRE_VERSION = 1;

/** The wire form: short keys, optional fields left out. */
interface WireRecord {
  v: number;
  node: string;
  inc: number;
  seq: number;
  base: number;
  skip?: number[];
  msg?: WireMessage;
  sig?: WireSignal;
}

interface WireMessage {
  to: string;
  from?: string;
  topic: string;
  payload?: Uint8Array;
  origin?: string;
  blob?: string;
  size?: number;
}

interface WireSignal {
  kind: string;
  to: string;
  from?: string;
  at?: bigint;
  ok?: boolean;
  value?: Uint8Array;
  error?: ErrorData;
  reason?: string;
  channel?: number;
  topic?: string;
}

// Decoded byte strings are copies: a payload handed to a mailbox must not pin the whole
// buffer the NATS client read it into. 64-bit integers (a signal's `at`) come back as bigint.
const packr = new Packr({ useRecords: false, copyBuffers: true });

export function encodeMailRecord(record: MailRecord): Uint8Array {
  const wire: WireRecord = {
    v: WIRE_VERSION,
    node: record.sender.node,
    inc: record.sender.incarnation,
    seq: record.seq,
    base: record.base,
  };
  if (record.skipped.length > 0) wire.skip = [...record.skipped];
  const { body } = record;
  switch (body.kind) {
    case 'message':
      wire.msg = { ...wireHead(body.envelope), payload: body.envelope.payload };
      break;
    case 'message-by-reference':
      wire.msg = { ...wireHead(body.envelope), blob: body.blob, size: body.size };
      break;
    case 'signal':
      wire.sig = wireSignal(body.signal);
      break;
    default:
      return unreachable(body);
  }
  return packr.pack(wire);
}

function wireHead(envelope: EnvelopeHead): WireMessage {
  const head: WireMessage = { to: envelope.to, topic: envelope.topic };
  if (envelope.from !== undefined) head.from = envelope.from;
  if (envelope.origin !== undefined) head.origin = envelope.origin;
  return head;
}

function wireSignal(signal: Signal): WireSignal {
  const wire: WireSignal = { kind: signal.kind, to: signal.to };
  if (signal.from !== undefined) wire.from = signal.from;
  switch (signal.kind) {
    case 'exit':
    case 'link-down':
      wire.at = signal.at;
      writeOutcome(wire, signal.outcome);
      return wire;
    case 'result':
      wire.channel = signal.channel;
      writeOutcome(wire, signal.outcome);
      return wire;
    case 'cancel':
      wire.at = signal.at;
      if (signal.reason !== undefined) wire.reason = signal.reason;
      return wire;
    case 'refused':
      wire.topic = signal.topic;
      wire.error = signal.error.toData();
      return wire;
    case 'terminate':
    case 'monitor':
    case 'demonitor':
    case 'link':
    case 'unlink':
      return wire;
    default:
      return unreachable(signal);
  }
}

function writeOutcome(wire: WireSignal, outcome: ExitOutcome): void {
  if (outcome.ok) {
    wire.ok = true;
    wire.value = outcome.value;
  } else {
    wire.ok = false;
    wire.error = outcome.error.toData();
  }
}

/** Signals that set up or take down a watch between processes: no fields beyond to and from. */
const RELATION_KINDS = ['monitor', 'demonitor', 'link', 'unlink'] as const;

function isRelationKind(kind: unknown): kind is (typeof RELATION_KINDS)[number] {
  return (RELATION_KINDS as readonly unknown[]).includes(kind);
}

/** The record in `bytes`, or what is wrong with them (for a log line naming where they came from). */
export function decodeMailRecord(bytes: Uint8Array): Result<MailRecord, string> {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    return err(`undecodable msgpack (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    return ok(readRecord(value));
  } catch (error) {
    if (error instanceof WireError) return err(error.message);
    throw error;
  }
}

class WireError extends Error {}

function readRecord(value: unknown): MailRecord {
  const wire = object(value, 'record');
  if (wire.v !== WIRE_VERSION) {
    throw new WireError(`wire version ${String(wire.v)} is not ${WIRE_VERSION}`);
  }
  const sender: NodeIncarnation = {
    node: text(wire.node, 'node'),
    incarnation: count(wire.inc, 'inc'),
  };
  const seq = count(wire.seq, 'seq');
  const base = count(wire.base, 'base');
  if (seq < 1 || base < 1 || base > seq) {
    throw new WireError(`seq ${seq} and base ${base} are not 1 ≤ base ≤ seq`);
  }
  const skipped =
    wire.skip === undefined ? [] : list(wire.skip, 'skip').map((s) => count(s, 'skip[]'));
  const body =
    wire.msg !== undefined && wire.sig === undefined
      ? readMessage(object(wire.msg, 'msg'))
      : wire.sig !== undefined && wire.msg === undefined
        ? ({ kind: 'signal', signal: readSignal(object(wire.sig, 'sig')) } as const)
        : fail('a record holds either msg or sig');
  return { sender, seq, base, skipped, body };
}

function readMessage(wire: Record<string, unknown>): MailBody {
  const head: EnvelopeHead = {
    to: text(wire.to, 'msg.to') as Pid,
    from: optional(wire.from, (v) => text(v, 'msg.from') as Pid),
    topic: text(wire.topic, 'msg.topic'),
    ...(wire.origin === undefined ? {} : { origin: text(wire.origin, 'msg.origin') }),
  };
  if (wire.blob !== undefined) {
    return {
      kind: 'message-by-reference',
      envelope: head,
      blob: text(wire.blob, 'msg.blob'),
      size: count(wire.size, 'msg.size'),
    };
  }
  return { kind: 'message', envelope: { ...head, payload: bytes(wire.payload, 'msg.payload') } };
}

function readSignal(wire: Record<string, unknown>): Signal {
  const to = text(wire.to, 'sig.to') as Pid;
  const from = optional(wire.from, (v) => text(v, 'sig.from') as Pid);
  const kind = wire.kind;
  switch (kind) {
    case 'exit':
    case 'link-down':
      return {
        kind,
        to,
        from: from ?? fail(`sig.from is missing from a ${kind} signal`),
        at: instant(wire.at),
        outcome: readOutcome(wire),
      };
    case 'cancel':
      return {
        kind,
        to,
        from,
        at: instant(wire.at),
        reason: optional(wire.reason, (v) => text(v, 'sig.reason')),
      };
    case 'terminate':
      return { kind, to, from };
    case 'refused':
      return {
        kind,
        to,
        from: from ?? fail('sig.from is missing from a refused signal'),
        topic: text(wire.topic, 'sig.topic'),
        error: readError(wire.error),
      };
    case 'result':
      return {
        kind,
        to,
        from: from ?? fail('sig.from is missing from a result signal'),
        channel: count(wire.channel, 'sig.channel'),
        outcome: readOutcome(wire),
      };
    default:
      if (isRelationKind(kind))
        return { kind, to, from: from ?? fail(`sig.from is missing from a ${kind} signal`) };
      return fail(
        `sig.kind ${JSON.stringify(kind)} is not exit, link-down, result, cancel, terminate, refused, ${RELATION_KINDS.join(', ')}`,
      );
  }
}

function readOutcome(wire: Record<string, unknown>): ExitOutcome {
  if (wire.ok === true) return { ok: true, value: bytes(wire.value, 'sig.value') };
  if (wire.ok !== false) fail('sig.ok is not a boolean');
  return { ok: false, error: readError(wire.error) };
}

function readError(value: unknown): LuactError {
  const error = object(value, 'sig.error');
  if (!isErrorKind(error.kind))
    fail(`sig.error.kind ${JSON.stringify(error.kind)} is not an error kind`);
  const details =
    error.details === undefined ? undefined : object(error.details, 'sig.error.details');
  return LuactError.fromData({
    kind: error.kind,
    message: text(error.message, 'sig.error.message'),
    retryable: error.retryable === true,
    ...(details === undefined ? {} : { details }),
  });
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  ) {
    return value as Record<string, unknown>;
  }
  return fail(`${field} is not a map`);
}

function text(value: unknown, field: string): string {
  return typeof value === 'string' ? value : fail(`${field} is not a string`);
}

function count(value: unknown, field: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
    ? n
    : fail(`${field} is not a non-negative integer`);
}

function list(value: unknown, field: string): unknown[] {
  return Array.isArray(value) ? value : fail(`${field} is not an array`);
}

function bytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(`${field} is not a byte string`);
  // A plain Uint8Array view (msgpackr hands out Buffers), as the sender gave it.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function instant(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return fail('sig.at is not an integer');
}

function optional<T>(value: unknown, read: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : read(value);
}

function fail(problem: string): never {
  throw new WireError(problem);
}

function unreachable(value: never): never {
  throw new Error(`unhandled mail body ${JSON.stringify(value)}`);
}
