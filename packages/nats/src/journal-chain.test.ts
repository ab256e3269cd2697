import { describe, expect, it } from 'vitest';
import { type ChainEntry, type EntryKind, resolveChain } from './journal-chain.js';

function entry(
  seq: number,
  prev: number,
  epoch = 1,
  kind: EntryKind = 'record',
  count = kind === 'record' ? 1 : 0,
): ChainEntry {
  return { seq, prev, epoch, kind, count };
}

/** The winning chain's sequences, from the entries given in every order tried. */
function winningSeqs(entries: readonly ChainEntry[]): number[] {
  const seqs = resolveChain(entries).entries.map((winner) => winner.seq);
  // The rule must not depend on the order a reader sees the messages in.
  expect(resolveChain([...entries].reverse()).entries.map((winner) => winner.seq)).toEqual(seqs);
  const shuffled = [...entries].sort((a, b) => ((a.seq * 7919) % 13) - ((b.seq * 7919) % 13));
  expect(resolveChain(shuffled).entries.map((winner) => winner.seq)).toEqual(seqs);
  return seqs;
}

describe('the journal fork rule', () => {
  it('reads an empty subject as an empty chain', () => {
    expect(resolveChain([])).toEqual({
      entries: [],
      recordEntries: [],
      length: 0,
      tip: 0,
      fencedAt: -1,
      close: undefined,
      broken: undefined,
    });
  });

  it('follows a chain without forks, whatever other subjects put between its sequences', () => {
    const chain = resolveChain([entry(3, 0), entry(7, 3), entry(8, 7), entry(20, 8)]);
    expect(chain.recordEntries.map((record) => record.seq)).toEqual([3, 7, 8, 20]);
    expect(chain.tip).toBe(20);
    expect(chain.broken).toBeUndefined();
  });

  it('at a fork of one epoch, keeps the entry stored first and drops the other branch', () => {
    // The 2.9.10 R3 race: two writers expected the same last sequence and both were stored.
    expect(winningSeqs([entry(1, 0), entry(2, 1), entry(3, 1), entry(4, 3), entry(5, 2)])).toEqual([
      1, 2, 5,
    ]);
  });

  it('at a fork of two epochs, keeps the higher epoch even when it was stored later', () => {
    expect(
      winningSeqs([entry(1, 0, 1), entry(2, 1, 1), entry(3, 1, 2), entry(4, 2, 1), entry(5, 3, 2)]),
    ).toEqual([1, 3, 5]);
  });

  it('forks at the first record the same way', () => {
    expect(winningSeqs([entry(10, 0, 1), entry(11, 0, 1), entry(12, 11, 1)])).toEqual([10]);
    expect(winningSeqs([entry(10, 0, 1), entry(11, 0, 3), entry(12, 11, 3)])).toEqual([11, 12]);
  });

  it('ignores a long losing branch entirely', () => {
    const losing = [entry(3, 2), entry(4, 3), entry(5, 4), entry(6, 5), entry(7, 6)];
    const winning = [entry(1, 0), entry(2, 1), entry(8, 2, 2), entry(9, 8, 2)];
    const chain = resolveChain([...losing, ...winning]);
    expect(winningSeqs([...losing, ...winning])).toEqual([1, 2, 8, 9]);
    expect(chain.recordEntries).toHaveLength(4);
  });

  it('ignores a zombie writing after a fence, and lets the new owner continue', () => {
    const entries = [
      entry(1, 0, 1),
      entry(2, 1, 1),
      entry(3, 2, 2, 'fence'),
      entry(4, 3, 1), // the old owner, unaware, follows the fence at its old epoch
      entry(5, 4, 1),
      entry(6, 3, 2), // the new owner
    ];
    const chain = resolveChain(entries);
    expect(winningSeqs(entries)).toEqual([1, 2, 3, 6]);
    expect(chain.recordEntries.map((record) => record.seq)).toEqual([1, 2, 6]);
    expect(chain.fencedAt).toBe(2);
  });

  it('lets a fence win over a zombie record racing it for the same place', () => {
    const entries = [entry(1, 0, 1), entry(2, 1, 1), entry(3, 1, 2, 'fence'), entry(4, 3, 2)];
    expect(winningSeqs(entries)).toEqual([1, 3, 4]);
    expect(resolveChain(entries).recordEntries.map((record) => record.seq)).toEqual([1, 4]);
  });

  it('ignores a fence of an older epoch after a newer one', () => {
    const entries = [
      entry(1, 0, 1),
      entry(2, 1, 3, 'fence'),
      entry(3, 2, 2, 'fence'),
      entry(4, 3, 3),
      entry(5, 2, 3),
    ];
    expect(winningSeqs(entries)).toEqual([1, 2, 5]);
    expect(resolveChain(entries).fencedAt).toBe(3);
  });

  it('ends the chain at a close, and lets a newer epoch overrule a zombie close', () => {
    const closed = resolveChain([entry(1, 0), entry(2, 1, 1, 'close'), entry(3, 2)]);
    expect(closed.entries.map((winner) => winner.seq)).toEqual([1, 2]);
    expect(closed.close?.seq).toBe(2);
    expect(closed.tip).toBe(2);

    const overruled = resolveChain([
      entry(1, 0, 1),
      entry(2, 1, 1, 'close'),
      entry(3, 1, 2, 'fence'),
      entry(4, 3, 2),
    ]);
    expect(overruled.close).toBeUndefined();
    expect(overruled.recordEntries.map((record) => record.seq)).toEqual([1, 4]);
  });

  it('reports the first entry whose predecessor is missing', () => {
    // Record 2 was deleted: 3 names it.
    const chain = resolveChain([entry(1, 0), entry(3, 2), entry(4, 3)]);
    expect(chain.broken?.seq).toBe(3);
    expect(chain.recordEntries.map((record) => record.seq)).toEqual([1]);
    // The first records expired.
    expect(resolveChain([entry(5, 4), entry(6, 5)]).broken?.seq).toBe(5);
    // A predecessor cannot come after its follower.
    expect(resolveChain([entry(1, 0), entry(2, 3), entry(3, 1)]).broken?.seq).toBe(2);
  });

  it('carries the caller’s own fields through', () => {
    const chain = resolveChain([{ ...entry(1, 0), payload: 'a' }]);
    expect(chain.recordEntries[0]?.payload).toBe('a');
  });

  it('counts the records packed entries hold, across old one-record entries', () => {
    const chain = resolveChain([
      entry(1, 0), // one record per message, as every journal was written before packing
      entry(2, 1, 1, 'records', 3),
      entry(3, 2, 2, 'fence'),
      entry(4, 3, 1, 'records', 5), // below the fence: ignored, with its records
      entry(5, 3, 2, 'records', 2),
      entry(6, 5, 2),
    ]);
    expect(chain.recordEntries.map((holder) => holder.seq)).toEqual([1, 2, 5, 6]);
    expect(chain.length).toBe(1 + 3 + 2 + 1);
  });
});
