import { type Document, isAlias, isCollection, isNode, isPair, type Node } from 'yaml';
import type { Diagnostic } from '../diagnostics.js';
import type { Positions } from './locate.js';

/**
 * How many nodes aliases may add to one document when it is expanded. Anchors for shared
 * blocks (a lifecycle, retry defaults) add a few nodes per use; a billion-laughs document,
 * where each level aliases the one before several times, adds billions.
 */
export const MAX_ALIAS_EXPANSION = 100_000;

/** Where counting stops: a bomb's true size is of no interest past this. */
const COUNT_CAP = 1e12;

interface Visit {
  readonly node: Node;
  /** Set once the node's children have been pushed; the second visit adds up its size. */
  expanded: boolean;
}

/**
 * What is wrong with a document's aliases, found on its syntax tree before its value is built
 * (building it would recurse forever, or for hours): an alias with no anchor before it, an
 * alias inside the node it names (the value would be infinite), and aliases that expand the
 * document by more than `limit` nodes. Each problem points at the alias. The walk keeps its
 * own stack, so no document the parser accepted can exhaust the call stack here.
 */
export function aliasProblems(
  doc: Document,
  positions: Positions,
  limit: number = MAX_ALIAS_EXPANSION,
): Diagnostic[] {
  const root = doc.contents as Node | null;
  if (root === null) return [];
  const problems: Diagnostic[] = [];
  /** Anchor name → the node it was last set on, in document order (what an alias names). */
  const anchors = new Map<string, Node>();
  /** Collections being walked: an alias to one of them is inside what it names. */
  const open = new Set<Node>();
  /** Nodes of the expanded value under each finished node, itself included. */
  const sizes = new Map<Node, number>();
  let written = 0;
  let largest: { alias: Node & { source: string }; size: number } | undefined;

  const stack: Visit[] = [{ node: root, expanded: false }];
  while (stack.length > 0) {
    const visit = stack[stack.length - 1] as Visit;
    const { node } = visit;
    if (visit.expanded) {
      stack.pop();
      open.delete(node);
      let size = 1;
      for (const child of childrenOf(node)) size = Math.min(COUNT_CAP, size + sizeOf(child));
      sizes.set(node, size);
      continue;
    }
    visit.expanded = true;
    written++;
    if (node.anchor) anchors.set(node.anchor, node);
    if (isAlias(node)) {
      stack.pop();
      const target = anchors.get(node.source);
      const at = positions.of(node);
      if (target === undefined) {
        problems.push(
          aliasError(at, `alias *${node.source} has no anchor &${node.source} before it`),
        );
      } else if (open.has(target)) {
        const anchored = positions.of(target);
        const where = anchored ? ` (line ${anchored.line}, column ${anchored.column})` : '';
        problems.push(
          aliasError(
            at,
            `alias *${node.source} refers to itself: it is inside the node &${node.source} names${where}, so its value would never end`,
          ),
        );
      } else {
        const size = sizes.get(target) ?? 1;
        sizes.set(node, size);
        if (!largest || size > largest.size) largest = { alias: node, size };
      }
      continue;
    }
    if (!isCollection(node)) {
      stack.pop();
      sizes.set(node, 1);
      continue;
    }
    open.add(node);
    // Pushed in reverse, so children are walked in document order (anchors before aliases).
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({ node: children[i] as Node, expanded: false });
    }
  }

  // Unresolvable aliases count as one node each, so the total stays finite and is not reported twice.
  const total = sizes.get(root) ?? written;
  const expansion = total >= COUNT_CAP ? COUNT_CAP : total - written;
  if (expansion > limit && largest) {
    problems.push(
      aliasError(
        positions.of(largest.alias),
        `too many alias expansions (${count(expansion)} nodes, limit ${count(limit)}): an alias bomb? *${largest.alias.source} here alone expands to ${count(largest.size)} nodes`,
      ),
    );
  }
  return problems;

  function sizeOf(child: Node): number {
    return sizes.get(child) ?? 1;
  }
}

/** Keys and values of a mapping, items of a sequence; nothing for scalars and aliases. */
function childrenOf(node: Node): Node[] {
  if (!isCollection(node)) return [];
  const children: Node[] = [];
  for (const item of node.items as unknown[]) {
    if (isPair(item)) {
      if (isNode(item.key)) children.push(item.key);
      if (isNode(item.value)) children.push(item.value);
    } else if (isNode(item)) {
      children.push(item);
    }
  }
  return children;
}

function aliasError(location: Diagnostic['location'], message: string): Diagnostic {
  return {
    severity: 'error',
    code: 'yaml-alias',
    message,
    ...(location && { location }),
  };
}

function count(n: number): string {
  return n >= COUNT_CAP
    ? `more than ${COUNT_CAP.toLocaleString('en-US')}`
    : n.toLocaleString('en-US');
}
