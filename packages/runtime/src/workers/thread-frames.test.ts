import { LuactError } from '@luact/core';
import type { Pid } from '@luact/process';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch } from './thread-frames.js';
import { signalOf, signalRecord, type ThreadRecord } from './thread-records.js';

const pid = (text: string) => text as Pid;

describe('a link batch as one buffer', () => {
  it('gives back mail, signals and spawns in order, with their bytes and errors', () => {
    const records: ThreadRecord[] = [
      {
        t: 'mail',
        envelope: {
          to: pid('{app:w|2}'),
          from: pid('{app:w|3}'),
          topic: 'ping',
          payload: new Uint8Array([1, 2, 3]),
        },
      },
      signalRecord({
        kind: 'exit',
        to: pid('{app:w|2}'),
        from: pid('{app:w|5}'),
        at: 1_700_000_000_000_000_123n,
        outcome: { ok: false, error: new LuactError('TIMEOUT', 'too slow', { details: { a: 1 } }) },
      }),
      {
        t: 'mail',
        envelope: {
          to: pid('{app:w|4}'),
          from: undefined,
          topic: 'é',
          payload: new Uint8Array(),
          origin: 'wf#1:2',
        },
      },
      { t: 'spawn', id: 7, request: { entry: 'app:e', host: 'app:w', args: new Uint8Array([9]) } },
    ];
    const buffer = encodeBatch(records);
    const back = decodeBatch(buffer);
    expect(back.map((record) => record.t)).toEqual(['mail', 'signal', 'mail', 'spawn']);
    expect(back[0]).toEqual({
      t: 'mail',
      envelope: {
        to: '{app:w|2}',
        from: '{app:w|3}',
        topic: 'ping',
        payload: new Uint8Array([1, 2, 3]),
      },
    });
    expect(back[2]).toMatchObject({
      envelope: { to: '{app:w|4}', from: undefined, topic: 'é', origin: 'wf#1:2' },
    });
    const exit = signalOf((back[1] as Extract<ThreadRecord, { t: 'signal' }>).signal);
    expect(exit).toMatchObject({ kind: 'exit', at: 1_700_000_000_000_000_123n });
    const error = (exit as { outcome: { error: LuactError } }).outcome.error;
    expect(error).toBeInstanceOf(LuactError);
    expect(error).toMatchObject({ kind: 'TIMEOUT', message: 'too slow', details: { a: 1 } });
    expect(Array.from((back[3] as { request: { args: Uint8Array } }).request.args)).toEqual([9]);
  });
});
