import { LuactError } from '@luact/core';
import { describe, expect, it } from 'vitest';
import { consoleExitStatus } from './commands/console-exit.js';
import type { CliIO } from './io.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const streams: CliIO = {
    stdout: { write: (chunk) => out.push(String(chunk)) },
    stderr: { write: (chunk) => err.push(String(chunk)) },
    cwd: '.',
    env: {},
  };
  return { streams, out, err };
}

describe('the exit status of a console program', () => {
  it("is a number's value modulo 256, 1 for one that is not finite", () => {
    const { streams, out } = io();
    const status = (value: unknown) => consoleExitStatus({ ok: true, value }, streams);
    expect([status(0), status(3), status(2.9), status(256 + 7), status(-1)]).toEqual([
      0, 3, 2, 7, 255,
    ]);
    expect([status(Number.NaN), status(Number.POSITIVE_INFINITY), status(300n)]).toEqual([
      1, 1, 44,
    ]);
    expect(out).toEqual([]);
  });

  it('is 0 for true, nothing or a table, 1 for false; a string is printed with 0', () => {
    const { streams, out } = io();
    const status = (value: unknown) => consoleExitStatus({ ok: true, value }, streams);
    expect([status(true), status(null), status({ a: 1 }), status(false)]).toEqual([0, 0, 0, 1]);
    expect(status('done')).toBe(0);
    expect(out).toEqual(['done\n']);
  });

  it('prints an error on stderr and is 1', () => {
    const { streams, out, err } = io();
    const error = new LuactError('INTERNAL', 'the disk is full');
    expect(consoleExitStatus({ ok: false, error }, streams)).toBe(1);
    expect([out, err]).toEqual([[], ['the disk is full\n']]);
  });
});
