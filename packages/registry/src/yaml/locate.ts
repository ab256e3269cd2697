import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
} from 'yaml';
import type { SourceLocation } from '../diagnostics.js';
import type { FieldPath } from '../field-path.js';

/** Turns offsets of one YAML file into 1-based line and column. */
export class Positions {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  of(node: Node | null | undefined): SourceLocation | undefined {
    return node?.range ? this.at(node.range[0]) : undefined;
  }
}

/** The value node under `key` of a mapping node, aliases followed. */
export function childOf(
  doc: Document,
  node: Node | null | undefined,
  key: string | number,
): Node | undefined {
  const parent = resolve(doc, node);
  if (isMap(parent)) {
    const pair = parent.items.find(
      (item) => isPair(item) && isScalar(item.key) && item.key.value === key,
    );
    return pair ? (resolve(doc, pair.value as Node | null) ?? undefined) : undefined;
  }
  if (isSeq(parent) && typeof key === 'number')
    return resolve(doc, parent.items[key] as Node | null);
  return undefined;
}

function keyNodeOf(doc: Document, node: Node | null | undefined, key: string): Node | undefined {
  const parent = resolve(doc, node);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find(
    (item) => isPair(item) && isScalar(item.key) && item.key.value === key,
  );
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

function resolve(doc: Document, node: Node | null | undefined): Node | undefined {
  if (node === null || node === undefined) return undefined;
  return isAlias(node) ? (node.resolve(doc) as Node | undefined) : node;
}

/**
 * The place of a field path below `root`: the key or the value of the last segment that exists,
 * so a missing field points at the mapping it is missing from.
 */
export function locatePath(
  doc: Document,
  positions: Positions,
  root: Node,
  path: FieldPath,
  at: 'key' | 'value',
): SourceLocation | undefined {
  let node: Node = root;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (last && at === 'key' && typeof segment === 'string') {
      const key = keyNodeOf(doc, node, segment);
      if (key) return positions.of(key);
    }
    const child = childOf(doc, node, segment);
    if (!child) break;
    node = child;
  }
  return positions.of(node);
}
