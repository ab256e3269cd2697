/**
 * The fork rule every reader of a JetStream journal applies. On nats-server 2.9.10 an R3
 * stream may store two publishes that expected the same last subject sequence (nats-server
 * #4320), and a paused writer may publish after a new owner took over; so a journal's subject
 * can hold more than one line of entries. Each entry names the entry it follows (`prev`, a
 * stream sequence; 0 for the first) and the epoch it was written at. The winning chain starts
 * at the entry following 0 and, at each step, takes among the entries following the current
 * one: the highest epoch, then the lowest stream sequence. Everything else is a losing branch
 * and ignored. A fence raises the bar: after a fence at epoch e, entries below e are ignored.
 * A close ends the chain. The rule depends only on the entries, never on the order they are
 * read in or on who reads them, so every reader resolves the same chain.
 */

/**
 * What a journal message is: one user record, several (an append packed into one message), an
 * owner's fence, or the closing entry.
 */
export type EntryKind = 'record' | 'records' | 'fence' | 'close';

/** The chain-relevant facts of one message on a journal's subject. */
export interface ChainEntry {
  /** Its stream sequence. */
  readonly seq: number;
  /** The epoch its writer held the journal's partition at. */
  readonly epoch: number;
  /** The stream sequence of the entry it follows; 0 for a first entry. */
  readonly prev: number;
  readonly kind: EntryKind;
  /** The records it holds: 1 for `record`, at least 1 for `records`, 0 for a fence or close. */
  readonly count: number;
}

export interface Chain<E extends ChainEntry> {
  /** The winning entries, first to last. */
  readonly entries: readonly E[];
  /** The winning entries that hold records, first to last. */
  readonly recordEntries: readonly E[];
  /** The records those entries hold: the journal's length. */
  readonly length: number;
  /** The last entry's sequence (0 for an empty chain): the `prev` of the next entry. */
  readonly tip: number;
  /** The highest fence epoch in the chain, -1 without a fence: entries below it are ignored. */
  readonly fencedAt: number;
  /** The entry that closed the journal, if the chain ends with one. */
  readonly close: E | undefined;
  /**
   * The first entry (by sequence) naming a predecessor that is not there: a deleted or expired
   * message. The chain cannot be trusted past such a gap; readers report it as damage.
   */
  readonly broken: E | undefined;
}

/** The winning chain among `entries`, the messages of one journal subject in any order. */
export function resolveChain<E extends ChainEntry>(entries: readonly E[]): Chain<E> {
  const bySeq = [...entries].sort((a, b) => a.seq - b.seq);
  const present = new Set(bySeq.map((entry) => entry.seq));
  const followers = new Map<number, E[]>();
  let broken: E | undefined;
  for (const entry of bySeq) {
    const dangling = entry.prev !== 0 && (entry.prev >= entry.seq || !present.has(entry.prev));
    if (dangling) broken ??= entry;
    const siblings = followers.get(entry.prev);
    if (siblings) siblings.push(entry);
    else followers.set(entry.prev, [entry]);
  }

  const chain: E[] = [];
  const recordEntries: E[] = [];
  let length = 0;
  let tip = 0;
  let fencedAt = -1;
  let close: E | undefined;
  while (close === undefined) {
    const next = winner(followers.get(tip), fencedAt);
    if (next === undefined) break;
    chain.push(next);
    tip = next.seq;
    switch (next.kind) {
      case 'record':
      case 'records':
        recordEntries.push(next);
        length += next.count;
        break;
      case 'fence':
        fencedAt = next.epoch;
        break;
      case 'close':
        close = next;
        break;
      default:
        next.kind satisfies never;
    }
  }
  return { entries: chain, recordEntries, length, tip, fencedAt, close, broken };
}

/** Among entries following the same one (in sequence order): highest epoch, then lowest sequence. */
function winner<E extends ChainEntry>(
  candidates: readonly E[] | undefined,
  fencedAt: number,
): E | undefined {
  let best: E | undefined;
  for (const candidate of candidates ?? []) {
    if (candidate.epoch < fencedAt) continue;
    if (best === undefined || candidate.epoch > best.epoch) best = candidate;
  }
  return best;
}
