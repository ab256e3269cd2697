import { LuactError } from '@luact/core';
import { NameRegistry, type Pid } from '@luact/process';
import { describe, expect, it } from 'vitest';
import { NameAuthority } from './name-authority.js';
import type { NameRecord } from './thread-records.js';

const pid = (text: string) => text as Pid;
const ON_W0 = pid('{app:w|2}');
const ON_W1 = pid('{app:w|3}');
const ON_MAIN = pid('{luact:main|1}');
/** A process of the thread that took w0's place. */
const ON_W0_NEW = pid('{app:w|4}');

/** An authority over two workers whose posts are kept, and the main thread's live processes. */
function authority() {
  const posted: { thread: string; record: NameRecord }[] = [];
  const answers: { thread: string; id: number; error?: string }[] = [];
  const alive = new Map<Pid, Set<string>>([[ON_MAIN, new Set()]]);
  const names = new NameAuthority(
    ['app:w#0', 'app:w#1'],
    (thread, record) => {
      if (record.t !== 'name-answer') posted.push({ thread, record });
      else
        answers.push({
          thread,
          id: record.id,
          ...(record.error ? { error: record.error.kind } : {}),
        });
    },
    (p) => (p === ON_MAIN ? undefined : `app:w#${Number(p.slice(7, -1)) % 2}`),
  );
  const copy = new NameRegistry();
  names.attach({
    copy,
    take: (name, p) => {
      const held = alive.get(p);
      if (held === undefined) return new LuactError('NOT_FOUND', `${p} ended`);
      held.add(name);
      return undefined;
    },
    holds: (name, p) => alive.get(p)?.has(name) === true,
    lost: (name, p) => alive.get(p)?.delete(name),
  });
  /** Answers what was posted to `thread` so far: acks, and holds with `held`. */
  const answer = (thread: string, held?: (record: NameRecord) => LuactError | undefined) => {
    for (const { thread: to, record } of posted.splice(0)) {
      if (to !== thread) {
        posted.push({ thread: to, record });
        continue;
      }
      if ((record.t === 'name-set' || record.t === 'name-gone') && record.ack !== undefined)
        names.receive(thread, { t: 'name-acked', ack: record.ack });
      if (record.t === 'name-hold') {
        const error = held?.(record);
        names.receive(thread, {
          t: 'name-held',
          id: record.id,
          ...(error ? { error: error.toData() } : {}),
        });
      }
    }
  };
  return { names, copy, posted, answers, answer };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('the main thread’s authority over names', () => {
  it('settles a registration once every worker’s copy has it', async () => {
    const { names, copy, posted, answer } = authority();
    let done = false;
    void names.register('a', ON_MAIN).then(() => {
      done = true;
    });
    await settled();
    expect(copy.lookup('a')).toBe(ON_MAIN);
    expect(posted.map((p) => [p.thread, p.record.t])).toEqual([
      ['app:w#0', 'name-set'],
      ['app:w#1', 'name-set'],
    ]);
    answer('app:w#0');
    await settled();
    expect(done).toBe(false);
    answer('app:w#1');
    await settled();
    expect(done).toBe(true);
  });

  it('asks the holder’s worker before refusing a name, and gives it when the holder ended', async () => {
    const { names, copy, answers, answer } = authority();
    // w0's process holds "x" (it took it there).
    names.receive('app:w#0', { t: 'name-claim', id: 1, name: 'x', pid: ON_W0, taken: true });
    await settled();
    answer('app:w#0');
    answer('app:w#1');
    await settled();
    expect(copy.lookup('x')).toBe(ON_W0);
    // w1 claims it: w0 is asked, says its process holds it: refused.
    names.receive('app:w#1', { t: 'name-claim', id: 2, name: 'x', pid: ON_W1, taken: true });
    await settled();
    answer('app:w#0');
    await settled();
    expect(copy.lookup('x')).toBe(ON_W0);
    // Its end has not reached main yet; w0 says it ended: w1's process gets it.
    names.receive('app:w#1', { t: 'name-claim', id: 3, name: 'x', pid: ON_W1, taken: true });
    await settled();
    answer('app:w#0', (hold) => new LuactError('NOT_FOUND', `${hold.t} ended`));
    await settled();
    answer('app:w#0');
    answer('app:w#1');
    await settled();
    expect(copy.lookup('x')).toBe(ON_W1);
    expect(answers).toEqual([
      { thread: 'app:w#0', id: 1 },
      { thread: 'app:w#1', id: 2, error: 'ALREADY_EXISTS' },
      { thread: 'app:w#1', id: 3 },
    ]);
  });

  it('answers a worker’s claims in turn: of two at once, the first wins and the second is refused', async () => {
    const { names, copy, answers, answer } = authority();
    names.receive('app:w#0', { t: 'name-claim', id: 1, name: 'x', pid: ON_W0, taken: true });
    names.receive('app:w#1', { t: 'name-claim', id: 1, name: 'x', pid: ON_W1, taken: true });
    for (let i = 0; i < 4; i++) {
      await settled();
      answer('app:w#0');
      answer('app:w#1');
    }
    await settled();
    expect(copy.lookup('x')).toBe(ON_W0);
    expect(answers).toEqual([
      { thread: 'app:w#0', id: 1 },
      { thread: 'app:w#1', id: 1, error: 'ALREADY_EXISTS' },
    ]);
  });

  it('frees the names of processes a lost worker ran, and waits for no lost worker', async () => {
    const { names, copy, answer } = authority();
    names.receive('app:w#0', { t: 'name-claim', id: 1, name: 'x', pid: ON_W0, taken: true });
    await settled();
    answer('app:w#1');
    names.threadLost('app:w#0');
    names.dropNamesWhere((p) => p === ON_W0);
    await settled();
    expect(copy.lookup('x')).toBeUndefined();
    let done = false;
    void names.register('y', ON_MAIN).then(() => {
      done = true;
    });
    await settled();
    answer('app:w#1');
    await settled();
    expect(done).toBe(true);
  });

  it('answers no claim of a lost worker to the thread that took its place, and gives its process no name', async () => {
    const { names, copy, answers, answer } = authority();
    void names.register('z', ON_MAIN);
    await settled();
    answer('app:w#0');
    answer('app:w#1');
    await settled();
    // "z" is dropped; w1's copy has not said it has that yet, so "z" stays in turn.
    void names.unregister('z');
    await settled();
    answer('app:w#0');
    // w0's process claims "z": it waits its turn.
    names.receive('app:w#0', { t: 'name-claim', id: 1, name: 'z', pid: ON_W0, taken: true });
    await settled();
    // w0 is lost; a new thread takes its place and asks under its own numbers, from 1 again.
    names.threadLost('app:w#0');
    names.dropNamesWhere((p) => p === ON_W0);
    names.threadJoined('app:w#0');
    names.receive('app:w#0', { t: 'name-claim', id: 1, name: 'z', pid: ON_W0_NEW, taken: true });
    for (let i = 0; i < 4; i++) {
      await settled();
      answer('app:w#0');
      answer('app:w#1');
    }
    await settled();
    // The lost thread's process got no name, and its claim's answer went nowhere: the new
    // thread's claim 1 is answered once, with its own verdict.
    expect(copy.lookup('z')).toBe(ON_W0_NEW);
    expect(answers).toEqual([{ thread: 'app:w#0', id: 1 }]);
  });
});
