import { LuactError } from '@luact/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';

let h: VmHarness;

beforeEach(async () => {
  h = await VmHarness.create();
});

afterEach(() => {
  h.close();
});

describe('entries written in typed Lua', () => {
  it('run with their annotations stripped, imports included', async () => {
    const shapes = h.prepare(
      [
        'type Rect = {w: number, h: number}',
        'local function area(r: Rect): number return r.w * r.h end',
        'return { area = area }',
      ].join('\n'),
    );
    const entry = h.prepare(
      [
        'local shapes = require("shapes")',
        'local function main(w: number, h: number): {area: number, label: string}',
        '  local r: {w: number, h: number} = { w = w, h = h }',
        '  local label = (("x"):rep(2) :: string) .. tostring(r.w as integer)',
        '  return { area = shapes.area(r), label = label }',
        'end',
        'return { main = main }',
      ].join('\n'),
      { imports: { shapes } },
    );
    expect(await h.wait(h.start(entry, encodeValues([3, 4])))).toEqual({
      ok: true,
      value: { area: 12, label: 'xx3' },
    });
  });

  it('report a run-time error after annotations at the line of the typed file', async () => {
    const entry = h.prepare(
      [
        'type Point = {',
        '  x: number,',
        '  y: number',
        '}',
        'local function main(p: Point?): number',
        '  return p.x',
        'end',
        'return { main = main }',
      ].join('\n'),
    );
    const exit = await h.wait(h.start(entry, encodeValues([])));
    expect(exit.ok).toBe(false);
    expect(exit.error?.message).toMatch(/test\/entry1\.lua:6: attempt to index a nil value/);
  });

  it('report a Lua syntax error after annotations at the line of the typed file', () => {
    expect(() =>
      h.prepare('type Id = number | string\nlocal x: Id = 1\nlocal y = x +\nreturn {}'),
    ).toThrow(/Lua syntax error: test\/entry1\.lua:4: unexpected symbol near 'return'/);
  });

  it('refuse a malformed annotation with an INVALID error naming file, line and column', () => {
    let thrown: unknown;
    try {
      h.prepare('local ok = true\nlocal function f(a: number, b: {string): number end\nreturn {}');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LuactError);
    expect(thrown).toMatchObject({
      kind: 'INVALID',
      message:
        "test:entry1: Lua syntax error: test/entry1.lua:2:39: type annotation: expected ',' or '}' (to close the table type at 2:32), found ')'",
      details: { entry: 'test:entry1', file: 'test/entry1.lua', line: 2, column: 39 },
    });
  });
});
