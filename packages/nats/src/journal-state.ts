import { LuactError } from '@luact/core';
import type { Chain } from './journal-chain.js';
import type { Entry } from './journal-entries.js';

/** One journal as a read found it. */
export interface Snapshot {
  readonly id: string;
  readonly chain: Chain<Entry>;
  /** Its close marker is there. */
  readonly closed: boolean;
  /** The subject's last message (0: none). */
  readonly lastSeq: number;
}

/**
 * Whether a journal is closed, given whether its close marker is there, its winning chain and
 * how many entries its subject holds: marked, and the chain ends with a close or no entry is
 * left (a removal cut short). A marker beside a chain that does not close was sent by a writer
 * whose close lost the fork (nats-server #4320: a zombie's close and the new owner's fence
 * both stored): its journal is open, and its new owner writes it.
 */
export function isClosed(marked: boolean, chain: Chain<Entry>, entries: number): boolean {
  return marked && (entries === 0 || chain.close !== undefined);
}

/** A journal writer's view of one journal, from its last read and its own acknowledgements. */
export type JournalState =
  /** The close marker is there. */
  | { readonly phase: 'closed' }
  /** The chain ends with a close entry whose marker is missing (a close cut short). */
  | { readonly phase: 'closing'; readonly summary: Uint8Array }
  | OpenState;

export interface OpenState {
  readonly phase: 'open';
  /** Records in the winning chain. */
  length: number;
  /** The chain's last entry: the `prev` of the next one (0: none yet). */
  tip: number;
  /** The subject's last message, on the chain or not: what the next publish expects. */
  lastSeq: number;
  /** The highest fence epoch in the chain (-1: none). */
  fencedAt: number;
  /**
   * The sequence of the last entry this writer wrote, when it is not on the winning chain:
   * a fork went to another writer.
   */
  lost: number | undefined;
}

/** The state a writer that last wrote entry `written` (if any) derives from `snapshot`. */
export function stateOf(snapshot: Snapshot, written: number | undefined): JournalState {
  const { chain, closed, lastSeq } = snapshot;
  if (closed) return { phase: 'closed' };
  if (chain.close) return { phase: 'closing', summary: chain.close.data };
  const onChain = written === undefined || chain.entries.some((entry) => entry.seq === written);
  return {
    phase: 'open',
    length: chain.length,
    tip: chain.tip,
    lastSeq,
    fencedAt: chain.fencedAt,
    lost: onChain ? undefined : written,
  };
}

/** A writer that lost a fork, or was fenced by a newer epoch, must stop. */
export function checkWriter(id: string, state: OpenState, epoch: number): void {
  if (state.fencedAt > epoch) {
    throw new LuactError(
      'CONFLICT',
      `journal ${id} was fenced at epoch ${state.fencedAt} by a newer owner; this writer is at epoch ${epoch} and must stop`,
      { retryable: false, details: { stream: id, epoch, fencedAt: state.fencedAt } },
    );
  }
  if (state.lost !== undefined) {
    throw new LuactError(
      'CONFLICT',
      `journal ${id}: the entry this writer appended last (sequence ${state.lost}) lost a fork to another writer's; this writer must stop`,
      { retryable: false, details: { stream: id, sequence: state.lost } },
    );
  }
}

export function keptChanging(id: string, action: string): LuactError {
  return new LuactError(
    'CONFLICT',
    `journal ${id} kept changing under this writer while it tried to ${action} (another writer?)`,
    { retryable: false, details: { stream: id } },
  );
}
