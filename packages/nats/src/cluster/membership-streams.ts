import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

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
  await ensureStream(jsm, {
    name: names.nodesStream,
    subjects: [names.nodesSubjects],
    // One message per subject: the last beat, the last boot. The sequence a boot gets is the
    // node's incarnation, so this stream lives in file storage: sequences survive a restart.
    max_msgs_per_subject: 1,
    max_age: nanos(NODES_MAX_AGE_MS),
    duplicate_window: nanos(2 * 60_000),
    num_replicas: replicas,
  });
  await ensureStream(jsm, {
    name: names.viewStream,
    subjects: [names.viewSubject],
    max_msgs: VIEW_HISTORY,
    // Reads of the latest view go to the stream leader, never to a possibly stale replica.
    allow_direct: false,
    duplicate_window: nanos(2 * 60_000),
    num_replicas: replicas,
  });
}

/** Creates the stream, or updates an existing one whose settings differ from `wanted`. */
export async function ensureStream(
  jsm: JetStreamManager,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    ...wanted,
  };
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) {
      throw error;
    }
    await jsm.streams.add(config);
    return;
  }
  // The server leaves out settings at their zero value.
  const differs = (Object.keys(wanted) as (keyof StreamConfig)[]).some(
    (key) => JSON.stringify(existing[key] || null) !== JSON.stringify(wanted[key] || null),
  );
  if (differs) await jsm.streams.update(config.name, config);
}
