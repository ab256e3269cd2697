import { MessageChannel } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { describe, expect, it } from 'vitest';
import { answerCall, ThreadCalls } from './thread-calls.js';
import { ThreadLink } from './thread-link.js';
import type { ThreadRecord } from './thread-records.js';

/** Two ends of a link, and what arrives at the far one. */
function linked() {
  const { port1, port2 } = new MessageChannel();
  const near = new ThreadLink(port1);
  const far = new ThreadLink(port2);
  const arrived: ThreadRecord[] = [];
  far.listen((record) => arrived.push(record));
  const close = () => {
    near.close();
    far.close();
  };
  return { near, far, arrived, close };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('calls between threads', () => {
  it('are answered by the other thread, a later answer included, and failures keep their kind', async () => {
    const { port1, port2 } = new MessageChannel();
    const caller = new ThreadLink(port1);
    const answerer = new ThreadLink(port2);
    const calls = new ThreadCalls();
    caller.listen((record) => {
      if (record.t === 'answer' || record.t === 'call-failed') calls.settle(record);
    });
    answerer.listen((record) => {
      if (record.t !== 'call') return;
      answerCall(answerer, record, (call) => {
        if (call.s === 'env.all') return Promise.resolve({ A: '1' });
        if (call.s === 'env.get') return new LuactError('NOT_FOUND', `no ${call.name}`);
        return true;
      });
    });
    try {
      await expect(calls.call('main', caller, { s: 'env.all' })).resolves.toEqual({ A: '1' });
      await expect(
        calls.call('main', caller, { s: 'env.get', name: 'X', namespace: 'app' }),
      ).rejects.toMatchObject({ kind: 'NOT_FOUND', message: 'no X' });
    } finally {
      caller.close();
      answerer.close();
    }
  });

  it('to a thread that is gone fail UNAVAILABLE at once; those to other threads still wait', async () => {
    const { near, close } = linked();
    const calls = new ThreadCalls();
    const gone = calls.call('w#0', near, { s: 'supervisor.list' });
    let other: unknown = 'waiting';
    calls.call('w#1', near, { s: 'supervisor.list' }).then(
      (value) => (other = value),
      (error) => (other = error),
    );
    calls.fail('w#0', new LuactError('UNAVAILABLE', 'worker thread w#0 is gone'));
    await expect(gone).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
    await settle();
    expect(other).toBe('waiting');
    calls.fail(undefined, new LuactError('UNAVAILABLE', 'the node is stopping'));
    await settle();
    expect(other).toMatchObject({ kind: 'UNAVAILABLE', message: 'the node is stopping' });
    close();
  });

  it('are answered into a closed link without a throw, and a notice gets no answer', async () => {
    const { near, far, arrived } = linked();
    let answerLater!: (value: unknown) => void;
    answerCall(near, { t: 'call', id: 7, call: { s: 'supervisor.list' } }, () => {
      return new Promise((resolve) => {
        answerLater = resolve;
      });
    });
    answerCall(near, { t: 'call', id: 0, call: { s: 'events.unsubscribe', sub: 1 } }, () => true);
    await settle();
    expect(arrived).toEqual([]);
    // The other thread died meanwhile: its link is closed; the late answer goes nowhere.
    far.close();
    near.close();
    answerLater([]);
    await settle();
    expect(arrived).toEqual([]);
  });
});
