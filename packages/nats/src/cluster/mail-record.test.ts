import { LuactError } from '@luact/core';
import type { Pid, Signal } from '@luact/process';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeMailRecord,
  encodeMailRecord,
  type MailBody,
  type MailRecord,
} from './mail-record.js';

const to = '{b@host|4}' as Pid;
const from = '{a@host|9}' as Pid;

function roundTrip(body: MailBody): MailRecord {
  const record: MailRecord = {
    sender: { node: 'a', incarnation: 7 },
    seq: 12,
    base: 10,
    skipped: [3, 4],
    body,
  };
  const decoded = decodeMailRecord(encodeMailRecord(record));
  if (!decoded.ok) throw new Error(decoded.error);
  expect(decoded.value).toEqual(record);
  return decoded.value;
}

describe('mail records', () => {
  it('carry a message with its payload bytes, origin and sender', () => {
    const payload = new Uint8Array([0, 1, 2, 255]);
    const back = roundTrip({
      kind: 'message',
      envelope: { to, from, topic: 'ping', payload, origin: 'wf#1:3' },
    });
    expect(back.body.kind === 'message' && back.body.envelope.payload).toBeInstanceOf(Uint8Array);
    roundTrip({ kind: 'message', envelope: { to, from: undefined, topic: 't', payload } });
    roundTrip({
      kind: 'message-by-reference',
      envelope: { to, from, topic: 'big' },
      blob: 'a.7.b.12',
      size: 5 << 20,
    });
  });

  it('carry every signal kind; an exit or refusal error keeps kind, message, retryable and details', () => {
    const error = new LuactError('NOT_FOUND', 'no such order', {
      details: { order: 42, path: ['x', 'y'] },
    });
    const signals: Signal[] = [
      { kind: 'exit', to, from, at: 1_733_000_000_123_456_789n, outcome: { ok: false, error } },
      { kind: 'link-down', to, from, at: 5n, outcome: { ok: true, value: new Uint8Array([7]) } },
      { kind: 'cancel', to, from: undefined, at: 0n, reason: 'shutting down' },
      { kind: 'cancel', to, from, at: 1n, reason: undefined },
      { kind: 'terminate', to, from: undefined },
      ...(['monitor', 'demonitor', 'link', 'unlink'] as const).map(
        (kind): Signal => ({ kind, to, from }),
      ),
      { kind: 'result', to, from, channel: 12, outcome: { ok: true, value: new Uint8Array([1]) } },
      { kind: 'result', to, from, channel: 3, outcome: { ok: false, error } },
      { kind: 'refused', to, from, topic: 'order', error },
    ];
    for (const signal of signals) {
      const back = roundTrip({ kind: 'signal', signal });
      if (back.body.kind !== 'signal') throw new Error('not a signal');
      if (back.body.signal.kind === 'exit' && !back.body.signal.outcome.ok) {
        const carried = back.body.signal.outcome.error;
        expect(carried).toBeInstanceOf(LuactError);
        expect(carried.toData()).toEqual(error.toData());
      }
      if (back.body.signal.kind === 'refused') {
        expect(back.body.signal.topic).toBe('order');
        expect(back.body.signal.error.toData()).toEqual(error.toData());
      }
    }
  });

  it('say what is wrong with bytes that are not a record', () => {
    const problem = (value: unknown) => {
      const decoded = decodeMailRecord(pack(value));
      return decoded.ok ? 'decoded' : decoded.error;
    };
    expect(decodeMailRecord(new Uint8Array([0xc1])).ok).toBe(false);
    expect(problem('text')).toBe('record is not a map');
    expect(problem({ v: 2 })).toBe('wire version 2 is not 1');
    const head = { v: 1, node: 'a', inc: 1, seq: 3, base: 1 };
    expect(problem({ ...head, base: 4 })).toBe('seq 3 and base 4 are not 1 ≤ base ≤ seq');
    expect(problem(head)).toBe('a record holds either msg or sig');
    expect(problem({ ...head, msg: { to: 'x', topic: 't' } })).toBe(
      'msg.payload is not a byte string',
    );
    expect(
      problem({
        ...head,
        sig: { kind: 'exit', to: 'x', from: 'y', at: 1, ok: false, error: { kind: 'NOPE' } },
      }),
    ).toBe('sig.error.kind "NOPE" is not an error kind');
    expect(problem({ ...head, sig: { kind: 'wave', to: 'x' } })).toBe(
      'sig.kind "wave" is not exit, link-down, result, cancel, terminate, refused, monitor, demonitor, link, unlink',
    );
  });
});
