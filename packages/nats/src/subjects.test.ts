import { describe, expect, it } from 'vitest';
import { JournalSubjects } from './subjects.js';

describe('journal subjects', () => {
  const subjects = new JournalSubjects('luact.journal');

  it('give each stream ID one subject token without dots, wildcards or spaces', () => {
    for (const id of ['a.b', '*', '>', 'a b\t', 'orders/42', '😀', 'x'.repeat(512)]) {
      const subject = subjects.records(id);
      const token = subject.slice('luact.journal.'.length);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(subjects.idOf(subject)).toBe(id);
      expect(subjects.idOf(subjects.closeMarker(id))).toBe(id);
    }
    expect(subjects.records('wf')).toBe('luact.journal.d2Y');
    expect(subjects.closeMarker('wf')).toBe('luact.journal.d2Y.closed');
    expect(subjects.messageId('wf', 7)).toBe('d2Y:7');
  });

  it('do not claim subjects this encoding never produces', () => {
    for (const subject of [
      'other.d2Y',
      'luact.journal',
      'luact.journal.d2Y.other',
      'luact.journal.d2Y.closed.x',
      'luact.journal.d2Y=',
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
