/**
 * The cluster's membership view: the single record every membership decision is written to.
 * Nodes act only on committed views; this file holds their shape and the pure step from one
 * view to the next (no NATS here).
 */
import { nextOwners, type PartitionOwner } from './placement.js';

/**
 * One member: a node name at one incarnation (one boot), the workflow queues it serves, and
 * the liveness timing it runs with (every member must run with the same: see MemberViews;
 * absent in views written before members recorded it).
 */
export interface ViewMember {
  readonly incarnation: number;
  readonly queues: readonly string[];
  readonly liveness?: MemberLiveness;
}

/** How often a member beats, and how long the cluster waits for a beat before it is down. */
export interface MemberLiveness {
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
}

/** Why a member entered or left the view. */
export type ViewChange =
  | { readonly kind: 'joined'; readonly node: string; readonly incarnation: number }
  | { readonly kind: 'left'; readonly node: string; readonly incarnation: number }
  /** Declared down (stopped beating), or replaced by a newer incarnation of the same node. */
  | { readonly kind: 'down'; readonly node: string; readonly incarnation: number };

export interface View {
  /** 1 for the first view, then +1 per committed view, with no gaps. */
  readonly version: number;
  /** P: partitions per queue, fixed for the cluster by its first view. */
  readonly partitions: number;
  readonly members: Readonly<Record<string, ViewMember>>;
  /**
   * Per queue, the owner of each partition (index 0…P-1). A queue is absent until it can be
   * assigned (a member serves it and the cluster reached its minimum size once).
   */
  readonly owners: Readonly<Record<string, readonly PartitionOwner[]>>;
  /** What this view changed in membership; empty for a view that only moves partitions. */
  readonly changes: readonly ViewChange[];
}

/** A view as read from the view stream: where it sits and when the server stored it. */
export interface CommittedView {
  readonly view: View;
  /** Stream sequence of the view record: what the next commit expects as the last one. */
  readonly seq: number;
  /** Server time (ms since the epoch) the record was stored. */
  readonly committedAt: number;
}

export interface ViewSettings {
  readonly partitions: number;
  /** Queues get owners once the view has had this many members. */
  readonly minMembers: number;
  /** At most this many partitions move to a new owner per view for balance. */
  readonly maxMovesPerView: number;
}

/** Edits to a view: members joining (a newer incarnation replaces an older one) and removals. */
export interface ViewEdits {
  readonly join?: { readonly node: string; readonly member: ViewMember };
  readonly remove?: readonly { readonly node: string; readonly kind: 'left' | 'down' }[];
}

/**
 * The view that follows `current` (undefined: there is none yet) after `edits`, with partition
 * owners moved as `nextOwners` says; undefined when nothing would change, so a committer does not
 * write empty views.
 */
export function proposeView(
  current: View | undefined,
  edits: ViewEdits,
  settings: ViewSettings,
): View | undefined {
  const members: Record<string, ViewMember> = { ...(current?.members ?? {}) };
  const changes: ViewChange[] = [];
  for (const { node, kind } of edits.remove ?? []) {
    const member = members[node];
    if (member === undefined) continue;
    delete members[node];
    changes.push({ kind, node, incarnation: member.incarnation });
  }
  if (edits.join !== undefined) {
    const { node, member } = edits.join;
    const previous = members[node];
    if (previous?.incarnation !== member.incarnation) {
      if (previous !== undefined) {
        changes.push({ kind: 'down', node, incarnation: previous.incarnation });
      }
      members[node] = {
        incarnation: member.incarnation,
        queues: [...member.queues].sort(),
        ...(member.liveness ? { liveness: member.liveness } : {}),
      };
      changes.push({ kind: 'joined', node, incarnation: member.incarnation });
    }
  }
  const version = (current?.version ?? 0) + 1;
  const placed = nextOwners({
    partitions: settings.partitions,
    version,
    members,
    previous: current?.owners ?? {},
    maxMoves: settings.maxMovesPerView,
    minMembers: settings.minMembers,
  });
  if (changes.length === 0 && !placed.changed) return undefined;
  return {
    version,
    partitions: settings.partitions,
    members: sortedRecord(members),
    owners: placed.owners,
    changes,
  };
}

/** Whether `view` holds `node` at exactly `incarnation`. */
export function hasMember(view: View, node: string, incarnation: number): boolean {
  return view.members[node]?.incarnation === incarnation;
}

function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
