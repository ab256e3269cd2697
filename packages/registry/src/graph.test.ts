import type { EntryId } from '@luact/core';
import { describe, expect, it } from 'vitest';
import { DependencyGraph } from './graph.js';

const id = (name: string) => `app:${name}` as EntryId;

function graph(edges: Record<string, string[]>): DependencyGraph {
  return DependencyGraph.of(
    Object.entries(edges).map(([from, targets]) => ({
      id: id(from),
      references: targets.map((target) => ({ path: ['x'], target: id(target), kinds: [] })),
    })),
  );
}

describe('DependencyGraph', () => {
  it('orders a diamond: the shared dependency first, the two middles together, the top last', () => {
    const diamond = graph({ top: ['left', 'right'], left: ['base'], right: ['base'], base: [] });
    expect(diamond.layers([id('top'), id('left'), id('right'), id('base')])).toEqual([
      [id('base')],
      [id('left'), id('right')],
      [id('top')],
    ]);
  });

  it('orders members that depend on each other through entries outside the set', () => {
    const g = graph({ service: ['process'], process: ['library'], library: ['db'], db: [] });
    expect(g.layers([id('service'), id('db')])).toEqual([[id('db')], [id('service')]]);
  });

  it('knows direct dependents and transitive dependencies', () => {
    const g = graph({ a: ['b'], b: ['c'], c: [], d: ['c'] });
    expect(g.dependentsOf(id('c'))).toEqual([id('b'), id('d')]);
    expect([...g.transitiveDependenciesOf(id('a'))].sort()).toEqual([id('b'), id('c')]);
  });

  it('finds every cycle, self-references included, as a closed path', () => {
    const g = graph({ a: ['b'], b: ['a'], c: ['c'], d: ['e'], e: ['f'], f: ['d'], g: ['a'] });
    expect(g.cycles()).toEqual([
      [id('a'), id('b'), id('a')],
      [id('c'), id('c')],
      [id('d'), id('e'), id('f'), id('d')],
    ]);
  });

  it('handles deep chains without recursion limits', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) edges[`n${i}`] = i + 1 < 20_000 ? [`n${i + 1}`] : [];
    expect(graph(edges).cycles()).toEqual([]);
  });
});
