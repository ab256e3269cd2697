/**
 * Partition owners per workflow queue: a pure function of the previous owners and the members,
 * so every committer computes the same next view.
 *
 * The target owner of a partition comes from rendezvous (highest random weight) hashing over the
 * members serving the queue, bounded so that every member gets ⌊P/N⌋ or ⌈P/N⌉ partitions (plain
 * rendezvous hashing leaves nodes several partitions apart at P = 64). Partitions whose owner is
 * gone move to their target at once; partitions whose owner is alive but not their target move
 * at most `maxMoves` per view, so a joining node is not flooded (later views continue until the
 * target is reached).
 */
import { createHash } from 'node:crypto';

/** The owner of one partition, and the epoch it was given at: the version of that view. */
export interface PartitionOwner {
  readonly node: string;
  readonly incarnation: number;
  /**
   * The version of the view that gave this partition to this owner. Views only grow, so a
   * partition's epoch only grows, and a newer owner always holds a higher epoch than an older one.
   */
  readonly epoch: number;
}

export interface PlacementMember {
  readonly incarnation: number;
  readonly queues: readonly string[];
}

export interface PlacementInput {
  /** P, the fixed number of partitions per queue. */
  readonly partitions: number;
  /** The version of the view being computed: the epoch of every partition that moves in it. */
  readonly version: number;
  readonly members: Readonly<Record<string, PlacementMember>>;
  readonly previous: Readonly<Record<string, readonly PartitionOwner[]>>;
  /** Partitions of live owners moved for balance in this view, over all queues. */
  readonly maxMoves: number;
  /** A queue without owners gets them only once there are this many members. */
  readonly minMembers: number;
}

export interface Placement {
  readonly owners: Readonly<Record<string, readonly PartitionOwner[]>>;
  /** Whether any owner differs from `previous` (a queue added or dropped counts). */
  readonly changed: boolean;
  /** Partitions still away from their target after this view (more views will move them). */
  readonly unbalanced: number;
}

export function nextOwners(input: PlacementInput): Placement {
  const { partitions, version, members, previous, maxMoves, minMembers } = input;
  const nodes = Object.keys(members).sort(compare);
  const queues = [...new Set(nodes.flatMap((node) => members[node]?.queues ?? []))].sort(compare);
  const owners: Record<string, PartitionOwner[]> = {};
  const candidates: { queue: string; partition: number; target: string }[] = [];
  let changed = false;

  for (const queue of queues) {
    const before = previous[queue];
    if (before === undefined && nodes.length < minMembers) continue;
    const servers = nodes.filter((node) => members[node]?.queues.includes(queue));
    const target = balancedTargets(queue, partitions, servers);
    const assigned: PartitionOwner[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      const wanted = target[partition] as string;
      const current = before?.length === partitions ? before[partition] : undefined;
      if (current !== undefined && stillServes(current, members, queue)) {
        assigned.push(current);
        if (current.node !== wanted) candidates.push({ queue, partition, target: wanted });
      } else {
        // The owner is gone (or there was none): move at once, no bound.
        assigned.push(ownerAt(wanted, members, version));
        changed = true;
      }
    }
    owners[queue] = assigned;
  }

  const moves = candidates.slice(0, maxMoves);
  for (const { queue, partition, target } of moves) {
    (owners[queue] as PartitionOwner[])[partition] = ownerAt(target, members, version);
  }
  if (moves.length > 0) changed = true;
  if (Object.keys(previous).some((queue) => owners[queue] === undefined)) changed = true;
  return { owners, changed, unbalanced: candidates.length - moves.length };
}

/**
 * The target owner of every partition of `queue`: rendezvous hashing with capacities, so loads
 * differ by at most one. The first P mod N servers by a per-queue hash may hold ⌈P/N⌉, the others
 * ⌊P/N⌋; (partition, server) pairs are taken by descending weight while the server has room.
 * Since the capacities add up to P, every partition is placed and every server filled exactly.
 */
export function balancedTargets(
  queue: string,
  partitions: number,
  servers: readonly string[],
): string[] {
  if (servers.length === 0) throw new RangeError(`no member serves queue ${queue}`);
  const base = Math.floor(partitions / servers.length);
  const extra = partitions % servers.length;
  const capacity = new Map<string, number>();
  servers
    .map((server) => ({ server, weight: weight(queue, 'capacity', server) }))
    .sort((a, b) => b.weight - a.weight || compare(a.server, b.server))
    .forEach(({ server }, rank) => {
      capacity.set(server, base + (rank < extra ? 1 : 0));
    });

  const pairs: { partition: number; server: string; weight: number }[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    for (const server of servers) {
      pairs.push({ partition, server, weight: weight(queue, String(partition), server) });
    }
  }
  pairs.sort(
    (a, b) => b.weight - a.weight || a.partition - b.partition || compare(a.server, b.server),
  );
  const target: (string | undefined)[] = new Array(partitions).fill(undefined);
  for (const { partition, server } of pairs) {
    const room = capacity.get(server) ?? 0;
    if (target[partition] !== undefined || room === 0) continue;
    target[partition] = server;
    capacity.set(server, room - 1);
  }
  return target as string[];
}

/** A stable pseudo-random weight in [0, 2^48) for (queue, slot, server). */
function weight(queue: string, slot: string, server: string): number {
  const digest = createHash('sha256').update(`${queue}\u0000${slot}\u0000${server}`).digest();
  return digest.readUIntBE(0, 6);
}

function stillServes(
  owner: PartitionOwner,
  members: Readonly<Record<string, PlacementMember>>,
  queue: string,
): boolean {
  const member = members[owner.node];
  return member?.incarnation === owner.incarnation && member.queues.includes(queue);
}

function ownerAt(
  node: string,
  members: Readonly<Record<string, PlacementMember>>,
  epoch: number,
): PartitionOwner {
  return { node, incarnation: (members[node] as PlacementMember).incarnation, epoch };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
