import type { Pid } from '@luact/process';
import { describe, expect, it } from 'vitest';
import { type NameEntry, NameTable } from './names-table.js';

const put = (seq: number, id: number, node = 'a', incarnation = 1): NameEntry => ({
  op: 'put',
  seq,
  pid: `{${node}~${incarnation}@app:p|${id}}` as Pid,
  node,
  incarnation,
});
const marker = (seq: number, era?: number): NameEntry => ({
  op: 'delete',
  seq,
  ...(era === undefined ? {} : { era }),
});

describe('NameTable', () => {
  it('gives a name to the first PUT of its key and keeps it against later PUTs until a marker', () => {
    const table = new NameTable();
    expect(table.apply('n', put(1, 1)).kind).toBe('held');
    expect(table.apply('n', put(2, 2)).kind).toBe('ghost');
    expect(table.holder('n')?.pid).toBe('{a~1@app:p|1}');
    expect(table.holder('n')?.era).toBe(1);
    const released = table.apply('n', marker(3, 1));
    expect(released).toMatchObject({ kind: 'released', stale: false });
    expect(table.holder('n')).toBeUndefined();
  });

  it('gives a deleted name to the first PUT after the marker, whatever racers follow', () => {
    const table = new NameTable();
    table.apply('n', put(1, 1));
    table.apply('n', marker(2, 1));
    expect(table.apply('n', put(3, 3)).kind).toBe('held');
    expect(table.apply('n', put(4, 4)).kind).toBe('ghost');
    expect(table.apply('n', put(5, 5)).kind).toBe('ghost');
    expect(table.holder('n')).toMatchObject({ pid: '{a~1@app:p|3}', era: 3 });
    // A marker ends the era whoever stored PUTs in it.
    expect(table.apply('n', marker(6, 3))).toMatchObject({ kind: 'released', stale: false });
    expect(table.apply('n', put(7, 7)).kind).toBe('held');
  });

  it('flags a marker meant for an earlier era as stale', () => {
    const table = new NameTable();
    table.apply('n', put(1, 1));
    table.apply('n', marker(2, 1));
    table.apply('n', put(3, 3));
    expect(table.apply('n', marker(4, 1))).toMatchObject({ kind: 'released', stale: true });
    // A marker without an era (written by another tool) is not stale.
    table.apply('n', put(5, 5));
    expect(table.apply('n', marker(6))).toMatchObject({ kind: 'released', stale: false });
  });

  it('ignores entries at or below what it applied, and a marker of a name nobody holds', () => {
    const table = new NameTable();
    expect(table.apply('n', marker(1)).kind).toBe('none');
    table.apply('n', put(2, 2));
    expect(table.apply('n', put(2, 9)).kind).toBe('none');
    expect(table.apply('n', marker(1)).kind).toBe('none');
    expect(table.holder('n')?.pid).toBe('{a~1@app:p|2}');
    expect(table.seq('n')).toBe(2);
    expect(table.seq('other')).toBe(0);
  });

  it('takes a claim the stream leader confirmed ahead of the entries before it', () => {
    const table = new NameTable();
    table.apply('n', put(1, 1)); // an earlier era the follower has not seen end yet
    const holder = { pid: '{b~2@app:p|7}' as Pid, node: 'b', incarnation: 2, era: 5 };
    expect(table.claim('n', holder)).toBe(true);
    // The follower catches up: the marker and the claim's own PUT change nothing.
    expect(table.apply('n', marker(4, 1)).kind).toBe('none');
    expect(table.apply('n', put(5, 7, 'b', 2)).kind).toBe('none');
    expect(table.holder('n')).toEqual(holder);
    expect(table.apply('n', put(6, 8)).kind).toBe('ghost');
  });

  it('refuses a claim for an era the entries read already give to another', () => {
    const table = new NameTable();
    table.apply('n', put(1, 1));
    table.apply('n', marker(2, 1));
    table.apply('n', put(3, 3));
    table.apply('n', put(4, 4));
    const loser = { pid: '{a~1@app:p|4}' as Pid, node: 'a', incarnation: 1, era: 4 };
    expect(table.claim('n', loser)).toBe(false);
    const winner = { pid: '{a~1@app:p|3}' as Pid, node: 'a', incarnation: 1, era: 3 };
    expect(table.claim('n', winner)).toBe(true);
  });

  it('finds the names of one incarnation', () => {
    const table = new NameTable();
    table.apply('x', put(1, 1));
    table.apply('y', put(2, 2, 'b'));
    table.apply('z', put(3, 3));
    table.apply('z', marker(4, 3));
    expect(table.heldWhere((h) => h.node === 'a').map(([name]) => name)).toEqual(['x']);
  });
});
