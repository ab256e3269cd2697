import { describe, expect, it } from 'vitest';
import { hasMember, proposeView, type View } from './view.js';
import { decodeView, encodeView } from './view-record.js';

const settings = { partitions: 8, minMembers: 1, maxMovesPerView: 8 };
const join = (node: string, incarnation: number, queues = ['q']) => ({
  join: { node, member: { incarnation, queues } },
});

describe('the next view', () => {
  it('starts at version 1 with the first member owning every partition', () => {
    const first = proposeView(undefined, join('a', 3), settings) as View;
    expect(first).toMatchObject({
      version: 1,
      partitions: 8,
      changes: [{ kind: 'joined', node: 'a', incarnation: 3 }],
    });
    expect(first.owners.q?.every((o) => o.node === 'a' && o.epoch === 1)).toBe(true);
    expect(hasMember(first, 'a', 3)).toBe(true);
    expect(hasMember(first, 'a', 4)).toBe(false);
  });

  it('is undefined when nothing would change (no empty views)', () => {
    const first = proposeView(undefined, join('a', 3), settings) as View;
    expect(proposeView(first, {}, settings)).toBeUndefined();
    expect(proposeView(first, join('a', 3), settings)).toBeUndefined(); // already in
    expect(
      proposeView(first, { remove: [{ node: 'zz', kind: 'down' }] }, settings),
    ).toBeUndefined();
  });

  it('records removals and a replaced incarnation as changes', () => {
    let view = proposeView(undefined, join('a', 3), settings) as View;
    view = proposeView(view, join('b', 5), settings) as View;
    const replaced = proposeView(view, join('a', 9), settings) as View;
    expect(replaced.changes).toEqual([
      { kind: 'down', node: 'a', incarnation: 3 },
      { kind: 'joined', node: 'a', incarnation: 9 },
    ]);
    const left = proposeView(replaced, { remove: [{ node: 'b', kind: 'left' }] }, settings) as View;
    expect(left.changes).toEqual([{ kind: 'left', node: 'b', incarnation: 5 }]);
    expect(Object.keys(left.members)).toEqual(['a']);
    expect(left.owners.q?.every((o) => o.node === 'a' && o.incarnation === 9)).toBe(true);
  });
});

describe('view records', () => {
  it('round-trip through their JSON bytes', () => {
    const view = proposeView(undefined, join('a', 3, ['q', 'r']), settings) as View;
    expect(decodeView(encodeView(view), 'V seq 1')).toEqual(view);
  });

  it('are refused as INTERNAL naming where and which field, when they are not views', () => {
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const view = proposeView(undefined, join('a', 3), settings) as View;
    expect(() => decodeView(new TextEncoder().encode('{'), 'V seq 7')).toThrow(
      /^V seq 7 is not a membership view: not JSON/,
    );
    expect(() => decodeView(bytes({ ...view, version: 0 }), 'V seq 7')).toThrow(
      'V seq 7 is not a membership view: version is 0, not an integer ≥ 1',
    );
    expect(() => decodeView(bytes({ ...view, owners: { q: [] } }), 'V seq 7')).toThrow(
      'owners of q is not a list of 8 owners',
    );
    expect(() =>
      decodeView(bytes({ ...view, members: { a: { incarnation: 3, queues: [1] } } }), 'V seq 7'),
    ).toThrow('members.a.queues[0] is not a name');
    expect(() =>
      decodeView(bytes({ ...view, changes: [{ kind: 'gone', node: 'a', incarnation: 3 }] }), 'V'),
    ).toThrow('changes[0].kind is "gone"');
    let caught: unknown;
    try {
      decodeView(bytes([]), 'V seq 8');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      kind: 'INTERNAL',
      retryable: false,
      details: { where: 'V seq 8' },
    });
  });
});
