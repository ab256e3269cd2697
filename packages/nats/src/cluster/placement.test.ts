import { describe, expect, it } from 'vitest';
import {
  balancedTargets,
  nextOwners,
  type PartitionOwner,
  type PlacementInput,
  type PlacementMember,
} from './placement.js';

const P = 64;
const Q = 'app:orders';

function members(names: readonly string[], queues: readonly string[] = [Q]) {
  return Object.fromEntries(
    names.map((name, i) => [name, { incarnation: 100 + i, queues }] as const),
  ) as Record<string, PlacementMember>;
}

function place(overrides: Partial<PlacementInput> & Pick<PlacementInput, 'members'>) {
  return nextOwners({
    partitions: P,
    version: 1,
    previous: {},
    maxMoves: 8,
    minMembers: 1,
    ...overrides,
  });
}

function loads(owners: readonly PartitionOwner[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { node } of owners) counts.set(node, (counts.get(node) ?? 0) + 1);
  return counts;
}

/** Commits views until no owner changes, as the committer does; returns every step. */
function settle(input: PlacementInput): { owners: PartitionOwner[]; version: number }[] {
  const steps: { owners: PartitionOwner[]; version: number }[] = [];
  let previous = input.previous;
  for (let version = input.version; version < input.version + 100; version++) {
    const result = nextOwners({ ...input, version, previous });
    if (!result.changed) return steps;
    steps.push({ owners: [...(result.owners[Q] ?? [])], version });
    previous = result.owners;
  }
  throw new Error('placement did not settle in 100 views');
}

describe('partition owners', () => {
  it('are a deterministic function of the members, whatever order they are listed in', () => {
    const forward = place({ members: members(['a', 'b', 'c']) });
    const backward = place({
      members: Object.fromEntries(Object.entries(members(['a', 'b', 'c'])).reverse()),
    });
    expect(backward.owners).toEqual(forward.owners);
    expect(place({ members: members(['a', 'b', 'c']) }).owners).toEqual(forward.owners);
  });

  it('are balanced within one partition of P/N for N = 1…5 (and by target for N up to 9)', () => {
    for (let n = 1; n <= 9; n++) {
      const names = Array.from({ length: n }, (_, i) => `node-${i}`);
      const owners = place({ members: members(names) }).owners[Q] ?? [];
      expect(owners).toHaveLength(P);
      const counts = [...loads(owners).values()];
      expect(counts).toHaveLength(n);
      for (const count of counts) {
        expect(count).toBeGreaterThanOrEqual(Math.floor(P / n));
        expect(count).toBeLessThanOrEqual(Math.ceil(P / n));
      }
    }
  });

  it('move at most maxMoves partitions per view when a member joins, then settle balanced', () => {
    for (let n = 1; n <= 4; n++) {
      const names = Array.from({ length: n }, (_, i) => `node-${i}`);
      const start = place({ members: members(names) }).owners;
      const grown = members([...names, 'joiner']);
      const steps = settle({
        partitions: P,
        version: 2,
        previous: start,
        members: grown,
        maxMoves: 5,
        minMembers: 1,
      });
      let before = start[Q] ?? [];
      for (const { owners } of steps) {
        const moved = owners.filter((owner, i) => owner.node !== before[i]?.node).length;
        expect(moved).toBeGreaterThan(0);
        expect(moved).toBeLessThanOrEqual(5);
        before = owners;
      }
      const final = loads(before);
      expect(final.get('joiner')).toBeGreaterThanOrEqual(Math.floor(P / (n + 1)));
      for (const count of final.values()) expect(count).toBeLessThanOrEqual(Math.ceil(P / (n + 1)));
      // Joining never moves a partition between two old members more than a balance needs.
      expect(steps.length).toBeLessThanOrEqual(Math.ceil(P / 5));
    }
  });

  it('reassign every partition of a lost member in the same view, whatever maxMoves says', () => {
    const start = place({ members: members(['a', 'b', 'c']) }).owners;
    const lost = (start[Q] ?? []).filter((owner) => owner.node === 'c').length;
    expect(lost).toBeGreaterThan(1); // more than maxMoves below
    const survivors = members(['a', 'b']);
    const next = nextOwners({
      partitions: P,
      version: 2,
      previous: start,
      members: survivors,
      maxMoves: 1,
      minMembers: 1,
    });
    const owners = next.owners[Q] ?? [];
    expect(owners.every((owner) => owner.node === 'a' || owner.node === 'b')).toBe(true);
    owners.forEach((owner, i) => {
      const before = start[Q]?.[i] as PartitionOwner;
      if (before.node === 'c') expect(owner.epoch).toBe(2);
    });
  });

  it('treat a member back with a new incarnation as a new owner (new epoch)', () => {
    const start = place({ members: members(['a', 'b']) }).owners;
    const restarted = { ...members(['a', 'b']), b: { incarnation: 999, queues: [Q] } };
    const next = nextOwners({
      partitions: P,
      version: 5,
      previous: start,
      members: restarted,
      maxMoves: 0,
      minMembers: 1,
    });
    for (const owner of next.owners[Q] ?? []) {
      if (owner.node === 'b') expect(owner).toMatchObject({ incarnation: 999, epoch: 5 });
    }
  });

  it('only ever raise a partition epoch, through joins, losses and rejoins', () => {
    const epochs: number[] = new Array(P).fill(0);
    const timeline = [
      ['a'],
      ['a', 'b'],
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['b', 'c', 'a'],
      ['c'],
      ['a', 'c'],
    ];
    let previous: PlacementInput['previous'] = {};
    let version = 1;
    let incarnation = 1;
    const incarnations = new Map<string, number>();
    for (const names of timeline) {
      for (const name of ['a', 'b', 'c']) {
        if (!names.includes(name)) incarnations.delete(name);
        else if (!incarnations.has(name)) incarnations.set(name, incarnation++);
      }
      const current = Object.fromEntries(
        names.map((name) => [name, { incarnation: incarnations.get(name) as number, queues: [Q] }]),
      );
      for (let round = 0; round < 20; round++) {
        const result = nextOwners({
          partitions: P,
          version,
          previous,
          members: current,
          maxMoves: 8,
          minMembers: 1,
        });
        if (!result.changed) break;
        (result.owners[Q] ?? []).forEach((owner, i) => {
          const before = previous[Q]?.[i];
          expect(owner.epoch).toBeGreaterThanOrEqual(epochs[i] as number);
          if (
            before !== undefined &&
            (before.node !== owner.node || before.incarnation !== owner.incarnation)
          ) {
            expect(owner.epoch).toBeGreaterThan(before.epoch);
          }
          epochs[i] = owner.epoch;
        });
        previous = result.owners;
        version++;
      }
    }
  });

  it('place a queue only on the members serving it', () => {
    const mixed = {
      a: { incarnation: 1, queues: [Q, 'app:mail'] },
      b: { incarnation: 2, queues: [Q] },
      c: { incarnation: 3, queues: ['app:mail'] },
    };
    const { owners } = place({ members: mixed });
    expect(new Set((owners[Q] ?? []).map((o) => o.node))).toEqual(new Set(['a', 'b']));
    expect(new Set((owners['app:mail'] ?? []).map((o) => o.node))).toEqual(new Set(['a', 'c']));
    // Nobody serves the queue any more: it leaves the view.
    const without = nextOwners({
      partitions: P,
      version: 2,
      previous: owners,
      members: { b: mixed.b },
      maxMoves: 8,
      minMembers: 1,
    });
    expect(Object.keys(without.owners)).toEqual([Q]);
    expect(without.changed).toBe(true);
  });

  it('assign nothing until minMembers members are in, and keep owners once assigned', () => {
    expect(place({ members: members(['a']), minMembers: 2 }).owners).toEqual({});
    const two = place({ members: members(['a', 'b']), minMembers: 2 }).owners;
    expect(two[Q]).toHaveLength(P);
    const shrunk = nextOwners({
      partitions: P,
      version: 2,
      previous: two,
      members: members(['a']),
      maxMoves: 8,
      minMembers: 2,
    });
    expect((shrunk.owners[Q] ?? []).every((o) => o.node === 'a')).toBe(true);
  });

  it('report no change when owners already match their targets', () => {
    const first = place({ members: members(['a', 'b']) });
    const again = nextOwners({
      partitions: P,
      version: 2,
      previous: first.owners,
      members: members(['a', 'b']),
      maxMoves: 8,
      minMembers: 1,
    });
    expect(again.changed).toBe(false);
    expect(again.unbalanced).toBe(0);
    expect(again.owners).toEqual(first.owners);
  });

  it('fill targets exactly for odd sizes (P = 10, N = 4: loads 3, 3, 2, 2)', () => {
    const targets = balancedTargets('q', 10, ['w', 'x', 'y', 'z']);
    const counts = [...loads(targets.map((node) => ({ node, incarnation: 0, epoch: 0 }))).values()];
    expect(counts.sort()).toEqual([2, 2, 3, 3]);
  });
});
