import { afterEach, describe, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** Runs `body` as a process's main function and returns its exit. */
async function runMain(body: string) {
  h = await VmHarness.create({});
  return h.run(`return { main = function() ${body} end }`);
}

describe('table.create (Lua 5.5)', () => {
  it('makes an empty table that fills like any other', async () => {
    const exit = await runMain(`
      local cases = table.create(3, 0)
      local empty = next(cases) == nil and #cases == 0
      cases[#cases + 1] = "a"
      cases[#cases + 1] = "b"
      local big = table.create(100000, 100000)
      for i = 1, 10 do big[i] = i end
      big.name = "x"
      return { empty, table.concat(cases, ","), #big, big.name, next(table.create(0)) == nil }
    `);
    expect(exit).toEqual({ ok: true, value: [true, 'a,b', 10, 'x', true] });
  });

  it.each([
    ['a negative size', 'table.create(-1)', "bad argument #1 to 'create' (out of range)"],
    [
      'a size past INT_MAX',
      'table.create(1, 2^31 // 1)',
      "bad argument #2 to 'create' (out of range)",
    ],
    ['no size', 'table.create()', "bad argument #1 to 'create' (number expected, got no value)"],
    [
      'a string size',
      'table.create("x")',
      "bad argument #1 to 'create' (number expected, got string)",
    ],
    [
      'a fractional size',
      'table.create(1.5)',
      "bad argument #1 to 'create' (number has no integer representation)",
    ],
  ])('refuses %s the way Lua 5.5 does, at the caller', async (_name, call, message) => {
    const exit = await runMain(
      `return select(2, pcall(function() local t = ${call} return t end))`,
    );
    expect(exit).toEqual({ ok: true, value: expect.stringContaining(message) });
    expect((exit as { value: string }).value).toMatch(/^test\/entry\d*\.lua:1: /);
  });

  it('is there for libraries and through the read-only table library', async () => {
    const exit = await runMain(`
      local ok = pcall(function() table.create = nil end)
      return { type(table.create), ok }
    `);
    expect(exit).toEqual({ ok: true, value: ['function', false] });
  });
});
