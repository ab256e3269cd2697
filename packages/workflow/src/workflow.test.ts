import { type JournalRecord, MemoryJournal } from '@luact/journal';
import { afterEach, describe, expect, it } from 'vitest';
import { fn, type Node, node, until, workflow } from './testing/harness.js';

/** A memory journal that notes the record types of each append. */
class CountingJournal extends MemoryJournal {
  readonly appends: string[][] = [];

  override append(id: string, expected: number, records: readonly JournalRecord[]) {
    this.appends.push(records.map((record) => String(record.t)));
    return super.append(id, expected, records);
  }
}

let n: Node | undefined;

afterEach(async () => {
  await n?.stop();
  n = undefined;
});

describe('workflows', () => {
  it('runs a workflow that calls a function and returns its value', async () => {
    n = await node({
      'app:double': fn('return { main = function(x) return x * 2 end }'),
      'app:flow': workflow(
        `local funcs = require("funcs")
         return { main = function(x)
           local a = funcs.call("double", x)
           local b, err = funcs.call("double", a)
           return { a = a, b = b, err = err }
         end }`,
        ['funcs'],
      ),
    });
    expect(await n.run('app:flow', [5])).toEqual({ ok: true, value: { a: 10, b: 20 } });
  });
});

describe('the journal', () => {
  it('holds the start, each task with its commands, each result, and the end, in order', async () => {
    n = await node({
      'app:double': fn('return { main = function(x) return x * 2 end }'),
      'app:flow': workflow(
        `local funcs = require("funcs")
         return { main = function(x)
           local a = funcs.call("double", x)
           return funcs.call("double", a)
         end }`,
        ['funcs'],
      ),
    });
    const pid = await n.start('app:flow', [1], { workflow: 'w1' });
    expect(pid).toBe('{app:flows|w1}');
    expect(await n.result(pid)).toEqual({ ok: true, value: 4 });
    const records = (await n.journal.read('w1~1')) as { t: string; commands?: { k: string }[] }[];
    expect(
      records.map((r) => (r.t === 'task' ? `task:${r.commands?.map((c) => c.k).join(',')}` : r.t)),
    ).toEqual(['started', 'task:activity', 'activity', 'task:activity', 'activity', 'completed']);
    expect(await n.journal.open()).toEqual([]);
  });

  it('journals an event the run produced with the task it leads to, in one append', async () => {
    const journal = new CountingJournal();
    n = await node(
      {
        'app:double': fn('return { main = function(x) return x * 2 end }'),
        'app:flow': workflow(
          `local funcs = require("funcs")
           return { main = function(x)
             local a = funcs.call("double", x)
             local b = funcs.call("double", a)
             return funcs.call("double", b)
           end }`,
          ['funcs'],
        ),
      },
      { journal },
    );
    expect(await n.run('app:flow', [1], { workflow: 'three' })).toEqual({ ok: true, value: 8 });
    // Each result reaches the code before it is durable; the task it leads to goes with it,
    // and is carried out only once both are durable.
    expect(journal.appends).toEqual([
      ['started', 'task'],
      ['activity', 'task'],
      ['activity', 'task'],
      ['activity', 'completed'],
    ]);
  });

  it('journals a message before its run sees it, and in the order the run sees events', async () => {
    const journal = new CountingJournal();
    n = await node(
      {
        'app:flow': workflow(
          `return { main = function()
             return process.listen("go"):receive()
           end }`,
        ),
      },
      { journal },
    );
    const pid = await n.start('app:flow', [], { workflow: 'signalled' });
    // msgpack of ["now"]
    const payload = new Uint8Array([0x91, 0xa3, 0x6e, 0x6f, 0x77]);
    await n.host.send({ to: pid, from: undefined, topic: 'go', payload });
    expect(await n.result(pid)).toEqual({ ok: true, value: 'now' });
    expect(journal.appends).toEqual([['started', 'task'], ['signal'], ['completed']]);
  });
});

describe('what the code logs about an event not yet journaled', () => {
  it('is held until the event is durable', async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const waiting: string[] = [];
    // A journal that holds back the append carrying the activity's result.
    const journal = new (class extends MemoryJournal {
      override async append(id: string, expected: number, records: readonly JournalRecord[]) {
        if (records.some((record) => record.t === 'activity')) {
          waiting.push(id);
          await gate;
        }
        return super.append(id, expected, records);
      }
    })();
    n = await node(
      {
        'app:double': fn('return { main = function(x) return x * 2 end }'),
        'app:flow': workflow(
          `local funcs, logger = require("funcs"), require("logger")
           return { main = function(x)
             local a = funcs.call("double", x)
             logger.info("got the result", { a = a })
             return a
           end }`,
          ['funcs', 'logger'],
        ),
      },
      { journal },
    );
    const pid = await n.start('app:flow', [21], { workflow: 'held' });
    await until(() => waiting.length > 0, 'the result is on its way to the journal');
    const said = () => n?.logs.filter((record) => record.message === 'got the result') ?? [];
    expect(said()).toEqual([]);
    open();
    expect(await n.result(pid)).toEqual({ ok: true, value: 42 });
    expect(said()).toHaveLength(1);
    expect(said()[0]?.fields).toEqual({ a: 42 });
  });
});
