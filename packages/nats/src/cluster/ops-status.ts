/**
 * The cluster as an operator sees it (`luact cluster`): the last committed view, and for each
 * member when it booted and when it last beat, read from the membership streams' leaders.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { latestClusterView, managerOf } from './cluster-node.js';
import { membershipNames } from './membership-streams.js';
import type { View } from './view.js';

/** One member of the view, with what the nodes stream still knows of it. */
export interface MemberStatus {
  readonly node: string;
  readonly incarnation: number;
  readonly queues: readonly string[];
  /** Server time (ms) this incarnation booted; undefined when its boot record is gone. */
  readonly bootedAt: number | undefined;
  /** Server time (ms) of its last beat; undefined when none is stored. */
  readonly lastBeatAt: number | undefined;
}

export interface ClusterStatus {
  readonly view: View;
  /** Server time (ms) the view was committed. */
  readonly committedAt: number;
  /** The view's members, by name. */
  readonly members: readonly MemberStatus[];
}

/**
 * The cluster's status under `prefix`; undefined when no node ever joined it. UNAVAILABLE when
 * JetStream does not answer.
 */
export async function readClusterStatus(
  connection: NatsConnection,
  prefix = 'luact',
): Promise<ClusterStatus | undefined> {
  const jsm = await managerOf(connection);
  const committed = await latestClusterView(connection, jsm, prefix);
  if (committed === undefined) return undefined;
  const { view, committedAt } = committed;
  const names = membershipNames(prefix);
  /** A stored record's server time, or undefined when it is not (or no longer) there. */
  const storedAt = async (
    query: { seq: number } | { last_by_subj: string },
    belongs: (stored: { readonly subject: string; readonly data: Uint8Array }) => boolean,
  ): Promise<number | undefined> => {
    try {
      const stored = await jsm.streams.getMessage(names.nodesStream, query);
      return stored !== null && belongs(stored) ? stored.time.getTime() : undefined;
    } catch {
      // A record removed by max_age or replaced by a later boot: not known.
      return undefined;
    }
  };
  const members = await Promise.all(
    Object.entries(view.members).map(async ([node, member]): Promise<MemberStatus> => {
      const [bootedAt, lastBeatAt] = await Promise.all([
        // The boot record's sequence is the incarnation, on the node's boot subject.
        storedAt(
          { seq: member.incarnation },
          (stored) => stored.subject === names.bootSubject(node),
        ),
        storedAt(
          { last_by_subj: names.beatSubject(node) },
          (stored) => beatIncarnation(stored.data) === member.incarnation,
        ),
      ]);
      return { node, incarnation: member.incarnation, queues: member.queues, bootedAt, lastBeatAt };
    }),
  );
  return { view, committedAt, members };
}

function beatIncarnation(data: Uint8Array): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { incarnation?: unknown };
    return typeof parsed.incarnation === 'number' ? parsed.incarnation : undefined;
  } catch {
    return undefined;
  }
}
