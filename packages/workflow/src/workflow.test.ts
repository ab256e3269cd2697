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
