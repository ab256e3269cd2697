import { describe, expect, it } from 'vitest';
import { MailOrder, type Sequenced } from './mail-order.js';

const a7 = { node: 'a', incarnation: 7 };
const b1 = { node: 'b', incarnation: 1 };

function rec(seq: number, extra: Partial<Sequenced> = {}): Sequenced {
  return { sender: a7, seq, base: extra.base ?? 1, skipped: [], ...extra };
}

describe('MailOrder', () => {
  it('hands records on in sequence order and drops what it saw before', () => {
    const order = new MailOrder<string>(30_000);
    expect(order.accept(rec(1), 'r1', 0)).toEqual({ due: ['r1'] });
    expect(order.accept(rec(3), 'r3', 0)).toEqual({ due: [] });
    expect(order.nextExpiry()).toBe(30_000);
    expect(order.accept(rec(2), 'r2', 5)).toEqual({ due: ['r2', 'r3'] });
    expect(order.nextExpiry()).toBeUndefined();
    expect(order.accept(rec(2), 'again', 6)).toEqual({ dropped: 'duplicate', due: [] });
    expect(order.accept(rec(5), 'r5', 7)).toEqual({ due: [] });
    expect(order.accept(rec(5), 'r5 again', 8)).toEqual({ dropped: 'duplicate', due: [] });
  });

  it('keeps each sender incarnation apart', () => {
    const order = new MailOrder<string>(30_000);
    expect(order.accept(rec(2), 'a2', 0).due).toEqual([]);
    expect(order.accept({ sender: b1, seq: 1, base: 1, skipped: [] }, 'b1', 0).due).toEqual(['b1']);
    const a8 = { node: 'a', incarnation: 8 };
    expect(order.accept({ sender: a8, seq: 1, base: 1, skipped: [] }, 'a8-1', 0).due).toEqual([
      'a8-1',
    ]);
    expect(order.accept(rec(1), 'a1', 0).due).toEqual(['a1', 'a2']);
  });

  it('starts a sender it meets for the first time at the record’s base', () => {
    const order = new MailOrder<string>(30_000);
    // Records 1–40 went to an earlier incarnation of this node; 41 is still in flight.
    expect(order.accept(rec(42, { base: 41 }), 'r42', 0).due).toEqual([]);
    expect(order.accept(rec(41, { base: 41 }), 'r41', 1).due).toEqual(['r41', 'r42']);
    expect(order.accept(rec(12, { base: 12 }), 'old', 2).dropped).toBe('duplicate');
  });

  it('does not wait for sequences the sender gave up on', () => {
    const order = new MailOrder<string>(30_000);
    order.accept(rec(1), 'r1', 0);
    expect(order.accept(rec(4, { base: 4 }), 'r4', 0).due).toEqual([]);
    expect(order.accept(rec(5, { base: 5, skipped: [2, 3] }), 'r5', 0).due).toEqual(['r4', 'r5']);
    // A given-up record that was stored after all comes too late: it is a duplicate now.
    expect(order.accept(rec(3), 'r3', 0).dropped).toBe('duplicate');
  });

  it('takes a given-up sequence that arrives while it is still ahead', () => {
    const order = new MailOrder<string>(30_000);
    order.accept(rec(1), 'r1', 0);
    expect(order.accept(rec(3, { skipped: [2] }), 'r3', 0).due).toEqual(['r3']);
    const late = new MailOrder<string>(30_000);
    late.accept(rec(1), 'r1', 0);
    expect(late.accept(rec(4, { skipped: [3] }), 'r4', 0).due).toEqual([]);
    expect(late.accept(rec(3), 'r3', 0).due).toEqual([]);
    expect(late.accept(rec(2), 'r2', 0).due).toEqual(['r2', 'r3', 'r4']);
  });

  it('gives up on a gap after the hold time and says which sequences it skipped', () => {
    const order = new MailOrder<string>(30_000);
    order.accept(rec(1), 'r1', 0);
    order.accept(rec(4), 'r4', 1_000);
    order.accept(rec(7), 'r7', 2_000);
    expect(order.expire(30_999)).toEqual([]);
    expect(order.expire(31_000)).toEqual([{ sender: a7, missing: [[2, 3]], due: ['r4'] }]);
    // The next gap (5–6) is held from the moment the first was given up on.
    expect(order.nextExpiry()).toBe(61_000);
    expect(order.expire(61_000)).toEqual([{ sender: a7, missing: [[5, 6]], due: ['r7'] }]);
    expect(order.accept(rec(3), 'late', 62_000).dropped).toBe('duplicate');
    expect(order.nextExpiry()).toBeUndefined();
  });

  it('hands on what a forgotten incarnation left held and drops the rest', () => {
    const order = new MailOrder<string>(30_000);
    order.accept(rec(1), 'r1', 0);
    order.accept(rec(5), 'r5', 0);
    order.accept(rec(3), 'r3', 0);
    expect(order.forget(a7)).toEqual(['r3', 'r5']);
    expect(order.nextExpiry()).toBeUndefined();
    expect(order.accept(rec(2), 'r2', 0)).toEqual({ dropped: 'forgotten', due: [] });
    expect(order.forget(b1)).toEqual([]);
    expect(order.accept({ sender: b1, seq: 1, base: 1, skipped: [] }, 'b', 0).dropped).toBe(
      'forgotten',
    );
  });
});
