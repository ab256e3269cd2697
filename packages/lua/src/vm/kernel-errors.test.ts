import { LuactError } from '@luact/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';

let h: VmHarness;

beforeEach(async () => {
  h = await VmHarness.create();
});

afterEach(() => {
  h.close();
});

function run(source: string, ...args: unknown[]) {
  return h.run(source, args);
}

/** How an error made by `make` (a Lua expression) reaches TypeScript as a process's error. */
async function failedWith(make: string) {
  const exit = await run(`return { main = function() return nil, ${make} end }`);
  expect(exit.ok).toBe(false);
  return exit.error;
}

describe('error objects between Lua and TypeScript', () => {
  it('reach TypeScript with its kind, whichever spelling Lua used', async () => {
    expect(await failedWith('errors.new{ message = "m", kind = errors.NOT_FOUND }')).toMatchObject({
      kind: 'NOT_FOUND',
    });
    expect(await failedWith('errors.new{ message = "m", kind = "NotFound" }')).toMatchObject({
      kind: 'NOT_FOUND',
    });
    expect(await failedWith('errors.new{ message = "m", kind = "NOT_FOUND" }')).toMatchObject({
      kind: 'NOT_FOUND',
    });
    expect(await failedWith('errors.new{ message = "m", kind = errors.UNKNOWN }')).toMatchObject({
      kind: 'UNKNOWN',
    });
    expect(await failedWith('errors.new{ message = "m", kind = "RATE_LIMITED" }')).toMatchObject({
      kind: 'RATE_LIMITED',
    });
  });

  it('arrive in Lua with the Lua name of their kind', async () => {
    const exit = await run(
      'return { main = function(e) return { e:kind(), e:retryable(), e:message(), errors.is(e, "RATE_LIMITED") } end }',
      new LuactError('RATE_LIMITED', 'slow down'),
    );
    expect(exit).toEqual({ ok: true, value: ['RateLimited', true, 'slow down', true] });
  });

  it('carry the kind default to TypeScript when Lua did not say whether to retry', async () => {
    expect(await failedWith('errors.new{ message = "m", kind = errors.TIMEOUT }')).toMatchObject({
      kind: 'TIMEOUT',
      retryable: true,
    });
    expect(await failedWith('errors.new{ message = "m", kind = errors.INVALID }')).toMatchObject({
      kind: 'INVALID',
      retryable: false,
    });
    expect(await failedWith('errors.new("m")')).toMatchObject({ kind: 'UNKNOWN', retryable: true });
    expect(
      await failedWith('errors.new{ message = "m", kind = errors.TIMEOUT, retryable = false }'),
    ).toMatchObject({ retryable: false });
  });

  it('carry a wrapped error with its contexts in front of the message', async () => {
    expect(
      await failedWith('errors.wrap(errors.wrap(errors.new("disk full"), "saving"), "ordering")'),
    ).toMatchObject({ kind: 'UNKNOWN', message: 'ordering: saving: disk full' });
  });
});
