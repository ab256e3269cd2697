import { describe, expect, it } from 'vitest';
import { JournalSubjects, partitionOf } from './subjects.js';

describe('journal partitions', () => {
  it('are FNV-1a 32 of the ID’s UTF-8 bytes modulo the partition count', () => {
    // Published FNV-1a 32 values: "" 0x811c9dc5, "a" 0xe40c292c, "foobar" 0xbf9cf968.
    expect(partitionOf('', 4096)).toBe(0x811c9dc5 % 4096);
    expect(partitionOf('a', 4096)).toBe(0xe40c292c % 4096);
    expect(partitionOf('foobar', 64)).toBe(0xbf9cf968 % 64);
    expect(partitionOf('foobar', 1)).toBe(0);
    // Bytes, not UTF-16 code units.
    expect(partitionOf('é', 4096)).not.toBe(partitionOf('\u00e9'.normalize('NFD'), 4096));
  });

  it('spread IDs over every partition', () => {
    const counts = new Array<number>(64).fill(0);
    for (let index = 0; index < 6400; index++) {
      const partition = partitionOf(`orders/${index}`, 64);
      counts[partition] = (counts[partition] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(150);
  });

  it('refuse a partition count that is not an integer from 1 to 4096', () => {
    for (const partitions of [0, -1, 1.5, 4097, Number.NaN]) {
      expect(() => partitionOf('a', partitions)).toThrow(
        expect.objectContaining({ kind: 'INVALID' }),
      );
      expect(() => new JournalSubjects('luact.journal', partitions)).toThrow(
        expect.objectContaining({ kind: 'INVALID' }),
      );
    }
  });
});

describe('journal subjects', () => {
  const subjects = new JournalSubjects('luact.journal', 64);

  it('give each journal ID one subject token under its partition', () => {
    for (const id of ['a.b', '*', '>', 'a b\t', 'orders/42', '😀', 'x'.repeat(512)]) {
      const subject = subjects.entries(id);
      const [partition, token] = subject.slice('luact.journal.'.length).split('.');
      expect(Number(partition)).toBe(partitionOf(id, 64));
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(subjects.idOf(subject)).toBe(id);
      expect(subjects.parse(subjects.closeMarker(id))).toEqual({ id, marker: true });
      expect(subjects.parse(subject)).toEqual({ id, marker: false });
    }
    const wf = partitionOf('wf', 64);
    expect(subjects.entries('wf')).toBe(`luact.journal.${wf}.d2Y`);
    expect(subjects.closeMarker('wf')).toBe(`luact.journal.${wf}.d2Y.closed`);
    expect(subjects.partition(wf)).toBe(`luact.journal.${wf}.>`);
    expect(subjects.slotId('wf', 7, 2)).toBe('d2Y:7:2');
    expect(subjects.meta).toBe('luact.journal._meta');
  });

  it('place journals by their partition key when one is given', () => {
    const byWorkflow = new JournalSubjects('luact.journal', 64, (id) => id.split('~')[0] ?? id);
    const runs = ['order-7~1', 'order-7~2', 'order-7~13'];
    const partitions = runs.map((id) => byWorkflow.partitionOf(id));
    expect(new Set(partitions)).toEqual(new Set([partitionOf('order-7', 64)]));
    // Without the key the runs spread over several partitions.
    expect(new Set(runs.map((id) => subjects.partitionOf(id))).size).toBeGreaterThan(1);
    for (const id of runs) expect(byWorkflow.idOf(byWorkflow.entries(id))).toBe(id);
    expect(byWorkflow.idOf(subjects.entries('order-7~2'))).toBeUndefined();
  });

  it('do not claim subjects this layout never produces', () => {
    const wf = partitionOf('wf', 64);
    for (const subject of [
      'other.d2Y',
      'luact.journal',
      'luact.journal.d2Y', // the layout before partitions
      'luact.journal.d2Y.closed',
      'luact.journal._meta',
      `luact.journal.${(wf + 1) % 64}.d2Y`, // not the ID's partition
      `luact.journal.${wf}.d2Y.other`,
      `luact.journal.${wf}.d2Y.closed.x`,
      `luact.journal.${wf}.d2Y=`,
    ]) {
      expect(subjects.idOf(subject)).toBeUndefined();
    }
  });

  it('refuse a prefix that is not a plain subject', () => {
    for (const prefix of ['', 'a..b', 'a.*', 'a.>', 'a b', '.a']) {
      expect(() => new JournalSubjects(prefix)).toThrow(
        expect.objectContaining({ kind: 'INVALID' }),
      );
    }
  });
});
