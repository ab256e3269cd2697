import type { MailRecord, NodeIncarnation } from './mail-record.js';

/** The part of a record that decides its turn. */
export type Sequenced = Pick<MailRecord, 'sender' | 'seq' | 'base' | 'skipped'>;

/** What became of an accepted record, and which items are now due, in order. */
export interface Accepted<T> {
  /** `duplicate`: seen (or given up on) before; `forgotten`: its sender incarnation is dead. */
  readonly dropped?: 'duplicate' | 'forgotten';
  readonly due: readonly T[];
}

/** Items released because a gap was held too long: the sequences given up on, then the items. */
export interface Released<T> {
  readonly sender: NodeIncarnation;
  /** The missing sequences that were skipped, as inclusive ranges. */
  readonly missing: readonly (readonly [number, number])[];
  readonly due: readonly T[];
}

/** The order state of one sender incarnation. */
interface Line<T> {
  readonly sender: NodeIncarnation;
  /** The next sequence to hand on. */
  next: number;
  readonly held: Map<number, T>;
  /** Sequences at or past `next` the sender gave up on. */
  readonly skipped: Set<number>;
  /** When the current gap began to be held (ms), if one is. */
  gapSince: number | undefined;
}

/**
 * Puts each sender incarnation's records back into sequence order: a record is due once every
 * lower sequence was handed on, skipped by its sender, or given up on after `holdMs`. A
 * sequence seen again is a duplicate. Pure bookkeeping: the caller supplies the time and acts
 * on what is due.
 */
export class MailOrder<T> {
  private readonly lines = new Map<string, Line<T>>();
  private readonly forgotten = new Set<string>();

  constructor(private readonly holdMs: number) {}

  accept(record: Sequenced, item: T, now: number): Accepted<T> {
    const key = senderKey(record.sender);
    if (this.forgotten.has(key)) return { dropped: 'forgotten', due: [] };
    let line = this.lines.get(key);
    if (line === undefined) {
      // First record of this sender here (a new sender, or this node restarted): everything
      // below `base` was stored before it and taken by an earlier incarnation of this node.
      line = {
        sender: record.sender,
        next: record.base,
        held: new Map(),
        skipped: new Set(),
        gapSince: undefined,
      };
      this.lines.set(key, line);
    }
    for (const seq of record.skipped) {
      if (seq >= line.next && !line.held.has(seq)) line.skipped.add(seq);
    }
    // A sequence its sender gave up on that arrives after all is still in order: take it.
    line.skipped.delete(record.seq);
    if (record.seq < line.next || line.held.has(record.seq)) {
      return { dropped: 'duplicate', due: this.advance(line, now) };
    }
    line.held.set(record.seq, item);
    return { due: this.advance(line, now) };
  }

  /** Lines whose gap was held `holdMs` or longer give up on it and hand on what follows. */
  expire(now: number): Released<T>[] {
    const released: Released<T>[] = [];
    for (const line of this.lines.values()) {
      if (line.gapSince === undefined || now - line.gapSince < this.holdMs) continue;
      const missing: [number, number][] = [];
      const due: T[] = [];
      // Skip to the lowest held sequence, hand on from there; a further gap starts a new hold.
      const lowest = Math.min(...line.held.keys());
      missing.push([line.next, lowest - 1]);
      for (let seq = line.next; seq < lowest; seq++) line.skipped.delete(seq);
      line.next = lowest;
      line.gapSince = undefined;
      due.push(...this.advance(line, now));
      released.push({ sender: line.sender, missing, due });
    }
    return released;
  }

  /**
   * The sender incarnation is dead: what it sent and is held here is handed on in order (gaps
   * skipped), and whatever of it arrives later is dropped.
   */
  forget(sender: NodeIncarnation): T[] {
    const key = senderKey(sender);
    this.forgotten.add(key);
    const line = this.lines.get(key);
    if (line === undefined) return [];
    this.lines.delete(key);
    return [...line.held.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
  }

  /** When the oldest held gap is due to be given up on (ms), if any is held. */
  nextExpiry(): number | undefined {
    let earliest: number | undefined;
    for (const line of this.lines.values()) {
      if (line.gapSince !== undefined && (earliest === undefined || line.gapSince < earliest)) {
        earliest = line.gapSince;
      }
    }
    return earliest === undefined ? undefined : earliest + this.holdMs;
  }

  private advance(line: Line<T>, now: number): T[] {
    const due: T[] = [];
    for (;;) {
      if (line.held.has(line.next)) {
        due.push(line.held.get(line.next) as T);
        line.held.delete(line.next);
      } else if (!line.skipped.delete(line.next)) {
        break;
      }
      line.next += 1;
    }
    if (line.held.size === 0) line.gapSince = undefined;
    else line.gapSince ??= now;
    return due;
  }
}

function senderKey(sender: NodeIncarnation): string {
  return `${sender.node}#${sender.incarnation}`;
}
