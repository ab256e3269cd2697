import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['2d', 172_800_000],
    ['100us', 0.1],
    ['0', 0],
    ['-2s', -2_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it('asks for a unit on a bare number instead of guessing one', () => {
    const result = parseDuration('5');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('add a unit');
  });

  it.each(['', 'soon', '5 s', '1h30', 'ms', '1x'])('rejects %j', (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });

  it('formats milliseconds back into the same syntax', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1_500)).toBe('1.5s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
    expect(parseDuration(formatDuration(93_784_500))).toEqual({ ok: true, value: 93_784_500 });
  });
});
