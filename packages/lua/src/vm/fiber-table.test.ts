import { describe, expect, it } from 'vitest';
import { Fiber, FiberGroup } from './fiber.js';
import { FiberTable } from './fiber-table.js';

const group = new FiberGroup(1, { onGroupExit: () => {} });
const fiberIn = (table: FiberTable) => {
  const fiber = new Fiber(table.reserve(), 0, 0, group, undefined, 0);
  table.add(fiber);
  return fiber;
};

describe('the fiber table', () => {
  it('finds each live fiber by its id, and no fiber by the id of one that ended', () => {
    const table = new FiberTable();
    const first = fiberIn(table);
    const second = fiberIn(table);
    expect(table.get(first.id)).toBe(first);
    expect(table.get(second.id)).toBe(second);
    expect(table.size).toBe(2);

    table.delete(first);
    // The next fiber takes the freed slot under a new id: the old one names nobody.
    const third = fiberIn(table);
    expect(third.id).not.toBe(first.id);
    expect(table.get(first.id)).toBeUndefined();
    expect(table.get(third.id)).toBe(third);
    expect([...table.values()].sort((a, b) => a.id - b.id)).toEqual(
      [second, third].sort((a, b) => a.id - b.id),
    );
    expect(table.size).toBe(2);
  });

  it('gives ids no live or recent fiber had, over many ends and starts', () => {
    const table = new FiberTable();
    const seen = new Set<number>();
    const live: Fiber[] = [];
    for (let i = 0; i < 2_000; i++) {
      const fiber = fiberIn(table);
      expect(seen.has(fiber.id)).toBe(false);
      seen.add(fiber.id);
      live.push(fiber);
      // End every other one, oldest first, so slots are reused while others stay.
      if (i % 2 === 1) table.delete(live.shift() as Fiber);
    }
    for (const id of seen) {
      const fiber = table.get(id);
      if (fiber !== undefined) expect(live).toContain(fiber);
    }
    expect(table.size).toBe(live.length);
  });

  it('ignores ids Lua could pass that no fiber ever had', () => {
    const table = new FiberTable();
    fiberIn(table);
    for (const id of [0, Number.NaN, -1, 0.5, 2 ** 40 + 7, 2 ** 53])
      expect(table.get(id)).toBeUndefined();
  });
});
