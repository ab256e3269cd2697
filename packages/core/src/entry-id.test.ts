import { describe, expect, it } from 'vitest';
import { parseEntryId, resolveReference, splitEntryId } from './entry-id.js';

describe('entry IDs', () => {
  it('resolves a bare name against the referencing namespace', () => {
    expect(resolveReference('worker', 'app')).toEqual({ ok: true, value: 'app:worker' });
  });

  it('keeps a qualified reference as written', () => {
    expect(resolveReference('orders.lib:util', 'app')).toEqual({
      ok: true,
      value: 'orders.lib:util',
    });
  });

  it('rejects references with invalid parts and says which part', () => {
    const result = resolveReference('app:bad name', 'app');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('invalid name "bad name"');
  });

  it('parses and splits namespace:name', () => {
    const parsed = parseEntryId('app.orders:charge');
    expect(parsed.ok && splitEntryId(parsed.value)).toEqual({
      namespace: 'app.orders',
      name: 'charge',
    });
    expect(parseEntryId('charge').ok).toBe(false);
  });
});
