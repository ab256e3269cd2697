import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsFailure } from '../nats-errors.js';
import { HeartbeatStream } from './heartbeat-stream.js';
import type { MembershipSettings } from './membership-options.js';
import { ensureMembershipStreams, membershipNames } from './membership-streams.js';
import { ViewLog } from './view-log.js';

/**
 * A node's boot into the cluster: the membership streams (created if needed) and its boot
 * record, whose stream sequence is the new incarnation.
 */

/** A booted node: its incarnation and the streams its membership beats in and reads views from. */
export interface Boot {
  readonly incarnation: number;
  readonly heartbeats: HeartbeatStream;
  readonly views: ViewLog;
}

export async function bootMember(settings: MembershipSettings): Promise<Boot> {
  const { connection } = settings;
  const names = membershipNames(settings.prefix);
  let jsm: Awaited<ReturnType<typeof jetstreamManager>>;
  try {
    jsm = await jetstreamManager(connection, { timeout: settings.requestTimeoutMs });
    await ensureMembershipStreams(jsm, names, settings.replicas);
  } catch (error) {
    throw natsFailure(
      connection,
      `set up the membership streams ${names.nodesStream} and ${names.viewStream}`,
      error,
    );
  }
  const js = jetstream(connection, { timeout: settings.requestTimeoutMs });
  const heartbeats = new HeartbeatStream(connection, js, jsm, names);
  const incarnation = await heartbeats.boot(settings.node);
  return { incarnation, heartbeats, views: new ViewLog(connection, js, jsm, names) };
}
