import { afterEach, describe, expect, it } from 'vitest';
import { fn, type Node, node, workflow } from './testing/harness.js';

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
});
