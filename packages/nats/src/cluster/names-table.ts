import type { Pid } from '@luact/process';

/** Who holds a cluster name, and since when: `era` is the stream sequence of its winning PUT. */
export interface NameHolder {
  readonly pid: Pid;
  readonly node: string;
  readonly incarnation: number;
  readonly era: number;
}

/** One entry of a name's key, as the stream holds it. */
export type NameEntry =
  | {
      readonly op: 'put';
      readonly seq: number;
      readonly pid: Pid;
      readonly node: string;
      readonly incarnation: number;
    }
  /** A delete (or purge) marker; `era` is the era it was meant to end, when it says. */
  | { readonly op: 'delete'; readonly seq: number; readonly era?: number };

/** What applying an entry changed. */
export type NameChange =
  | { readonly kind: 'none' }
  /** A PUT started an era: the name is held by `holder` from now on. */
  | { readonly kind: 'held'; readonly holder: NameHolder }
  /** A PUT while the name was held: a racer that lost; the holder stays. */
  | { readonly kind: 'ghost'; readonly holder: NameHolder }
  /**
   * A marker ended `holder`'s era. `stale` when the marker said it was meant for another era:
   * a release that arrived after the name had changed hands ended a registration nobody gave up.
   */
  | { readonly kind: 'released'; readonly holder: NameHolder; readonly stale: boolean };

interface NameState {
  /** The last stream sequence applied to this name. */
  seq: number;
  holder: NameHolder | undefined;
}

/**
 * Cluster names as the entries of their keys decide them, the same way at every reader: the
 * first PUT after a delete marker (or the key's first PUT) holds the name until the next
 * marker; PUTs in between are racers that lost (on nats-server 2.9.10 an R3 stream may accept
 * several writes that expected the same marker). Entries are applied in stream order; an entry
 * at or below a name's last applied sequence is ignored, so a writer can apply what it learnt
 * from the stream leader before its watch gets there.
 */
export class NameTable {
  private readonly names = new Map<string, NameState>();

  holder(name: string): NameHolder | undefined {
    return this.names.get(name)?.holder;
  }

  /** The last sequence applied to `name` (0: none). */
  seq(name: string): number {
    return this.names.get(name)?.seq ?? 0;
  }

  apply(name: string, entry: NameEntry): NameChange {
    let state = this.names.get(name);
    if (state === undefined) {
      state = { seq: 0, holder: undefined };
      this.names.set(name, state);
    }
    if (entry.seq <= state.seq) return { kind: 'none' };
    state.seq = entry.seq;
    if (entry.op === 'put') {
      if (state.holder !== undefined) return { kind: 'ghost', holder: state.holder };
      const { pid, node, incarnation, seq } = entry;
      state.holder = { pid, node, incarnation, era: seq };
      return { kind: 'held', holder: state.holder };
    }
    const holder = state.holder;
    // A name nobody holds keeps only its last sequence; one never held again is forgotten.
    state.holder = undefined;
    if (holder === undefined) return { kind: 'none' };
    return { kind: 'released', holder, stale: entry.era !== undefined && entry.era !== holder.era };
  }

  /**
   * Records `holder` as holding `name` from its era on, ahead of the entries read so far (the
   * stream leader confirmed its PUT is the first after the last marker). False when entries at
   * or after that era were read already and say another holds it, or nobody does.
   */
  claim(name: string, holder: NameHolder): boolean {
    const state = this.names.get(name);
    if (state !== undefined && state.seq >= holder.era)
      return state.holder?.pid === holder.pid && state.holder.era === holder.era;
    this.names.set(name, { seq: holder.era, holder });
    return true;
  }

  /** Every held name whose holder matches. */
  heldWhere(match: (holder: NameHolder) => boolean): [string, NameHolder][] {
    const found: [string, NameHolder][] = [];
    for (const [name, state] of this.names)
      if (state.holder !== undefined && match(state.holder)) found.push([name, state.holder]);
    return found;
  }
}
