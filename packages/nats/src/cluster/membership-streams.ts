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
import { isUnreachable } from '../nats-errors.js';

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

/** How long creating or checking a stream may keep trying while JetStream does not answer. */
const ENSURE_STREAM_MS = 30_000;
const ENSURE_RETRY_MS = 250;

/**
 * Creates the stream, or updates an existing one whose settings differ from `wanted`. A freshly
 * started R3 cluster may not answer stream requests for seconds (elections), and other nodes
 * may be creating the same stream: both are tried again, up to a bound.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const deadline = Date.now() + ENSURE_STREAM_MS;
  let raced = false;
  for (;;) {
    try {
      await ensureStreamOnce(jsm, wanted);
      return;
    } catch (error) {
      // A refused add is looked at once more (someone else's create); a second is the answer.
      const again = isUnreachable(error) || (error instanceof CreatedMeanwhile && !raced);
      if (!again || Date.now() >= deadline)
        throw error instanceof CreatedMeanwhile ? error.cause : error;
      if (error instanceof CreatedMeanwhile) raced = true;
      await new Promise((resolve) => setTimeout(resolve, ENSURE_RETRY_MS));
    }
  }
}

/** Adding the stream failed because another node created it meanwhile: look again. */
class CreatedMeanwhile extends Error {}

async function ensureStreamOnce(
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
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      if (addError instanceof JetStreamApiError)
        throw new CreatedMeanwhile('', { cause: addError });
      throw addError;
    }
    return;
  }
  // The server leaves out settings at their zero value.
  const differs = (Object.keys(wanted) as (keyof StreamConfig)[]).some(
    (key) => JSON.stringify(existing[key] || null) !== JSON.stringify(wanted[key] || null),
  );
  if (differs) await jsm.streams.update(config.name, config);
}
