import { describe, expect, it } from 'vitest';
import { LuactError } from './errors.js';
import { checkWorkflowId, idProblem, STREAM_ID_RULE, WORKFLOW_ID_RULE } from './id-rule.js';

function problem(id: unknown) {
  const error = idProblem(id, WORKFLOW_ID_RULE);
  return error && { kind: error.kind, message: error.message, details: error.details };
}

describe('workflow IDs', () => {
  it('accept one line of printable text up to 256 bytes, in any script', () => {
    for (const id of [
      'order-42',
      'orders/2024/42',
      'a b',
      'emoji 😀',
      'x'.repeat(256),
      'ü'.repeat(128),
      '中'.repeat(85),
      '42',
      'a~1',
    ]) {
      expect(idProblem(id, WORKFLOW_ID_RULE), id).toBeUndefined();
    }
    expect(checkWorkflowId('order-42')).toBe('order-42');
  });

  it('are limited in bytes of UTF-8, not characters: 256 × ü is 512 bytes', () => {
    expect(problem('ü'.repeat(256))).toEqual({
      kind: 'INVALID',
      message: `workflow ID "${'ü'.repeat(40)}…" is 512 bytes long in UTF-8, over the limit of 256 bytes (characters outside ASCII take 2 to 4 bytes each)`,
      details: { id: 'workflow ID', rule: 'bytes', bytes: 512, limit: 256 },
    });
    expect(problem(`${'x'.repeat(255)}ü`)?.details).toMatchObject({ bytes: 257 });
    expect(problem('😀'.repeat(65))?.details).toMatchObject({ bytes: 260 });
  });

  it('refuse control characters, separators and bidirectional controls, naming the character and its position', () => {
    expect(problem('a\nb')?.message).toBe(
      'workflow ID "a\\u{A}b" has a line feed (U+000A) at character 2: a workflow ID is one line of printable text, without control characters, line or paragraph separators or bidirectional controls',
    );
    expect(problem('order\u0000')?.details).toEqual({
      id: 'workflow ID',
      rule: 'character',
      character: 'U+0000',
      position: 6,
    });
    const cases: [string, string, number][] = [
      ['tab\there', 'U+0009', 4],
      ['cr\r', 'U+000D', 3],
      ['esc\u001b[31m', 'U+001B', 4],
      ['del\u007f', 'U+007F', 4],
      ['c1\u0085', 'U+0085', 3],
      ['c1\u009b', 'U+009B', 3],
      ['😀line\u2028sep', 'U+2028', 6],
      ['para\u2029', 'U+2029', 5],
      ['bidi\u202eevil', 'U+202E', 5],
      ['isolate\u2066', 'U+2066', 8],
    ];
    for (const [id, character, position] of cases) {
      expect(problem(id), JSON.stringify(id)).toMatchObject({
        kind: 'INVALID',
        details: { rule: 'character', character, position },
      });
      expect(problem(id)?.message).not.toMatch(/[\n\r\u2028\u2029\u0085]/);
    }
  });

  it("refuse a PID's delimiters, whitespace at either end, lone surrogates, empty and non-text IDs", () => {
    expect(problem('a|b')?.message).toBe(
      'workflow ID "a|b" has "|" (U+007C) at character 2: a PID ({host|id}) is delimited by "{", "|" and "}"',
    );
    expect(problem('{x')?.details).toMatchObject({ rule: 'character', character: 'U+007B' });
    expect(problem('x}')?.details).toMatchObject({ rule: 'character', position: 2 });
    expect(problem(' x')?.message).toBe(
      'workflow ID " x" starts with whitespace, which no one sees in a list',
    );
    expect(problem('x\u00a0')?.details).toMatchObject({ rule: 'whitespace', position: 2 });
    expect(problem('lone \ud800 half')?.details).toMatchObject({
      rule: 'character',
      character: 'U+D800',
      position: 6,
    });
    expect(problem('')?.message).toBe('a workflow ID must not be empty');
    expect(problem(42)?.message).toBe('a workflow ID must be text, not number');
    expect(() => checkWorkflowId('a\nb')).toThrow(LuactError);
  });
});

describe('journal stream IDs', () => {
  it('take any Unicode text up to 512 bytes, so every run of a valid workflow ID fits', () => {
    for (const id of ['with\ttab', ' spaced ', 'a|b', 'é'.repeat(256), `${'ü'.repeat(128)}~99`]) {
      expect(idProblem(id, STREAM_ID_RULE), id).toBeUndefined();
    }
    expect(
      idProblem(`${'x'.repeat(256)}~${Number.MAX_SAFE_INTEGER}`, STREAM_ID_RULE),
    ).toBeUndefined();
    expect(idProblem(`${'é'.repeat(256)}x`, STREAM_ID_RULE)?.details).toMatchObject({
      rule: 'bytes',
      bytes: 513,
      limit: 512,
    });
    expect(idProblem('lone \udc00', STREAM_ID_RULE)?.details).toMatchObject({ rule: 'character' });
  });
});
