import { LuactError } from '@luact/core';
import { describe, expect, it } from 'vitest';
import { jsonLogRecord, renderLogRecord, renderOutcome, renderValue } from './render.js';

describe('output for people', () => {
  it('shows a table of outcomes one line per key, sorted, ✓ with the result and ✗ with the error', () => {
    const value = new Map<string, unknown>([
      ['B-2', { ok: false, error: 'card declined' }],
      ['A-1', { ok: true, result: { tracking: 'trk-1', order: 'A-1' } }],
    ]);
    expect(renderValue(value)).toBe('A-1  ✓ order=A-1 tracking=trk-1\nB-2  ✗ card declined');
  });

  it('flattens nested tables, quotes values with spaces, and shows errors as KIND: message', () => {
    expect(renderValue({ a: { b: { c: 1 } }, d: 'two words' })).toBe('a  b.c=1\nd  two words');
    expect(renderValue({ x: { note: 'two words', n: 2 } })).toBe('x  n=2 note="two words"');
    expect(renderValue(new LuactError('NOT_FOUND', 'no such thing'))).toBe(
      'NOT_FOUND: no such thing',
    );
    expect(renderValue('done')).toBe('done');
    expect(renderValue(null)).toBe('nil');
    expect(renderValue([1, 'a'])).toBe('[1, a]');
  });

  it('prints a failed outcome as ✗ KIND: message', () => {
    expect(renderOutcome({ ok: false, error: new LuactError('TIMEOUT', 'too slow') })).toBe(
      '✗ TIMEOUT: too slow\n',
    );
  });

  it('writes a log record as a readable line on a terminal and as JSON with an ISO time otherwise', () => {
    const at = new Date(Date.UTC(2026, 11, 5, 6, 7, 8, 9));
    const record = {
      level: 'warn' as const,
      message: 'disk almost full',
      labels: { pid: '{app:p|1}' },
      fields: { free: '2 GiB', path: '/var' },
    };
    expect(renderLogRecord(record, at)).toMatch(
      /^\d\d:\d\d:\d\d\.009 WARN {2}disk almost full {2}free="2 GiB" path=\/var pid=\{app:p\|1\}$/,
    );
    expect(jsonLogRecord(record, at)).toBe(
      '{"time":"2026-12-05T06:07:08.009Z","level":"warn","msg":"disk almost full","free":"2 GiB","path":"/var","pid":"{app:p|1}"}',
    );
  });
});
