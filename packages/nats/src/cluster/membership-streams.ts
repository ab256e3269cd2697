import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ensureStream } from '../streams.js';

/** Where membership lives in JetStream, derived from one prefix. */
export interface MembershipNames {
  /** Beats and boots: one subject per node each, last message only. */
  readonly nodesStream: string;
  readonly nodesSubjects: string;
  readonly beatFilter: string;
  beatSubject(node: string): string;
  bootSubject(node: string): string;
  /** The node of a beat subject. */
  beatNode(subject: string): string;
  /** The view stream holds this one subject. */
  readonly viewStream: string;
  readonly viewSubject: string;
}

export function membershipNames(prefix: string): MembershipNames {
  const upper = prefix.toUpperCase().replaceAll('-', '_');
  const beat = `${prefix}.nodes.beat.`;
  return {
    nodesStream: `${upper}_NODES`,
    nodesSubjects: `${prefix}.nodes.>`,
    beatFilter: `${beat}*`,
    beatSubject: (node) => `${beat}${node}`,
    bootSubject: (node) => `${prefix}.nodes.boot.${node}`,
    beatNode: (subject) => subject.slice(beat.length),
    viewStream: `${upper}_VIEW`,
    viewSubject: `${prefix}.view`,
  };
}

/** Departed nodes' beats and boots are removed this long after their last write. */
export const NODES_MAX_AGE_MS = 60 * 60_000;
/** Views kept for members catching up after a disconnection (one record per view). */
export const VIEW_HISTORY = 1_000;

export async function ensureMembershipStreams(
  jsm: JetStreamManager,
  names: MembershipNames,
  replicas: number,
): Promise<void> {
  // The sequence a boot gets is the node's incarnation: file storage, so sequences survive a
  // restart.
  const fixed = { storage: StorageType.File, retention: RetentionPolicy.Limits };
  await ensureStream(jsm, {
    name: names.nodesStream,
    holds: "the cluster's node beats and boots",
    subjects: [names.nodesSubjects],
    fixed,
    settings: {
      // One message per subject: the last beat, the last boot.
      max_msgs_per_subject: 1,
      max_age: nanos(NODES_MAX_AGE_MS),
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(2 * 60_000),
      num_replicas: replicas,
    },
  });
  await ensureStream(jsm, {
    name: names.viewStream,
    holds: "the cluster's views",
    subjects: [names.viewSubject],
    fixed,
    settings: {
      max_msgs: VIEW_HISTORY,
      discard: DiscardPolicy.Old,
      // Reads of the latest view go to the stream leader, never to a possibly stale replica.
      allow_direct: false,
      duplicate_window: nanos(2 * 60_000),
      num_replicas: replicas,
    },
  });
}
