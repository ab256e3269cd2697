import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luact } from '../src/luact-cli.js';

// Item 13 of issue 8: error objects inside the values `luact run --exec` prints.
const APP = 'test/isolation/fixtures/exec';

let scratch: string;

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-exec-errors-'));
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function exec(entry: string): Promise<{ code: number; report: Record<string, unknown> }> {
  const run = await luact(['run', APP, '--state-dir', scratch, '--exec', entry]);
  return { code: run.code, report: JSON.parse(run.stdout) };
}

describe('luact run --exec prints error objects as data', () => {
  it('inside a returned table: fields, arrays and nested tables', async () => {
    const { code, report } = await exec('exec:errors_inside');
    expect(code).toBe(0);
    expect(report).toEqual({
      ok: true,
      value: {
        err: { kind: 'INVALID', message: 'bad', retryable: false, details: { field: 'qty' } },
        list: [
          { kind: 'UNKNOWN', message: 'first', retryable: true },
          2,
          { kind: 'TIMEOUT', message: 'late', retryable: true },
        ],
        nested: { deeper: { err: { kind: 'CONFLICT', message: 'taken', retryable: true } } },
      },
    });
  });

  it("inside an error's details", async () => {
    const { code, report } = await exec('exec:error_with_cause');
    expect(code).toBe(1);
    expect(report).toEqual({
      ok: false,
      error: {
        kind: 'UNAVAILABLE',
        message: 'upstream down',
        retryable: true,
        details: {
          cause: { kind: 'TIMEOUT', message: 'no answer in 5s', retryable: true },
          tries: [{ kind: 'UNKNOWN', message: 'one', retryable: true }],
        },
      },
    });
  });

  it('in the value a workflow returns', async () => {
    const { code, report } = await exec('exec:flow_errors_inside');
    expect(code).toBe(0);
    expect(report).toEqual({
      ok: true,
      value: { err: { kind: 'NOT_FOUND', message: 'no such order', retryable: false } },
    });
  });
});
