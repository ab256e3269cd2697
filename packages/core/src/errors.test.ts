import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, errorKindFromName, LUA_KIND_NAMES, LuactError } from './errors.js';

describe('LuactError', () => {
  it('keeps kind, message, retryable and details through its data form', () => {
    const original = new LuactError('CONFLICT', 'order already paid', {
      retryable: true,
      details: { order: 42 },
    });
    const copy = LuactError.fromData(structuredClone(original.toData()));
    expect(copy).toBeInstanceOf(LuactError);
    expect(copy.toData()).toEqual({
      kind: 'CONFLICT',
      message: 'order already paid',
      retryable: true,
      details: { order: 42 },
    });
  });

  it('defaults retryable by kind: failures of the environment retry, bad requests do not', () => {
    expect(new LuactError('UNAVAILABLE', 'x').retryable).toBe(true);
    expect(new LuactError('TIMEOUT', 'x').retryable).toBe(true);
    expect(new LuactError('INVALID', 'x').retryable).toBe(false);
    expect(new LuactError('NOT_FOUND', 'x').retryable).toBe(false);
  });

  it('turns foreign thrown values into INTERNAL errors with their message', () => {
    expect(LuactError.from(new RangeError('boom')).toData()).toEqual({
      kind: 'INTERNAL',
      message: 'boom',
      retryable: true,
    });
    expect(LuactError.from('plain').message).toBe('plain');
  });

  it('reads a kind written either way: its own name or the Lua name', () => {
    expect(errorKindFromName('NOT_FOUND')).toBe('NOT_FOUND');
    expect(errorKindFromName('NotFound')).toBe('NOT_FOUND');
    expect(errorKindFromName('RateLimited')).toBe('RATE_LIMITED');
    expect(errorKindFromName('')).toBe('UNKNOWN');
    expect(errorKindFromName('notfound')).toBeUndefined();
    expect(errorKindFromName(7)).toBeUndefined();
    for (const kind of ERROR_KINDS) expect(errorKindFromName(LUA_KIND_NAMES[kind])).toBe(kind);
  });
});
