import { describe, expect, it } from 'vitest';
import { fileNameOf, idOfFileName } from './file-names.js';

describe('journal file names', () => {
  it('percent-encode every byte outside letters, digits, _ and -', () => {
    expect(fileNameOf('orders/42')).toBe('orders%2F42.jnl');
    expect(fileNameOf('a.b c')).toBe('a%2Eb%20c.jnl');
    expect(fileNameOf('é')).toBe('%C3%A9.jnl');
    expect(fileNameOf('100%')).toBe('100%25.jnl');
    expect(fileNameOf('Run_1-x')).toBe('Run_1-x.jnl');
  });

  it('give the ID back from a name that holds it', () => {
    for (const id of ['orders/42', 'a.b c', '😀', '%2F', '..', 'x'.repeat(200)]) {
      expect(idOfFileName(fileNameOf(id))).toBe(id);
    }
  });

  it('cut long encodings at an escape and add a hash of the whole ID', () => {
    const long = 'é'.repeat(256);
    const name = fileNameOf(long);
    expect(name.length).toBeLessThanOrEqual(200);
    expect(name).toMatch(/^(%[0-9A-F]{2})+\.[0-9a-f]{32}\.jnl$/);
    expect(idOfFileName(name)).toBeUndefined();
    expect(fileNameOf(`${'y'.repeat(300)}a`)).not.toBe(fileNameOf(`${'y'.repeat(300)}b`));
  });

  it('do not claim names this encoding never produces', () => {
    for (const name of ['%2f.jnl', 'a.b.jnl', '%ZZ.jnl', 'notes.txt', 'wf.jnl.tmp', 'a%2E.jnl.x']) {
      expect(idOfFileName(name)).toBeUndefined();
    }
  });
});
