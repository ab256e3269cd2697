import { LuactError } from '@luact/core';
import type { NodeIdentity } from '@luact/process';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsFailure } from '../nats-errors.js';
import { ClusterTransport } from './cluster-transport.js';
import { ControlChannel } from './control.js';
import type { MailLogRecord } from './mail-log.js';
import { MailTransport } from './mail-transport.js';
import { Membership } from './membership.js';
import type { MembershipLogLevel, MembershipOptions } from './membership-options.js';
import { membershipNames } from './membership-streams.js';
import { ClusterNameRegistry } from './names.js';
import type { View } from './view.js';
import { ViewLog } from './view-log.js';

/** A log line of the cluster layer, for the node's log. */
export interface ClusterLogRecord {
  readonly level: MembershipLogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface JoinClusterOptions {
  readonly connection: NatsConnection;
  /** The node's name in the cluster: letters, digits, `_` and `-`. */
  readonly node: string;
  /** The workflow hosts this node runs (partitions of each are spread over the nodes running it). */
  readonly queues?: readonly string[];
  /** Replicas of the cluster's streams: 1, or 3 on a NATS cluster. Default 1. */
  readonly replicas?: number;
  /** Prefix of the cluster's subjects and streams. Default `luact`. */
  readonly prefix?: string;
  /** Liveness settings (heartbeatMs, downAfterMs, fenceAfterMs), for tests and tuning. */
  readonly liveness?: Pick<MembershipOptions, 'heartbeatMs' | 'downAfterMs' | 'fenceAfterMs'>;
  /** How long a send to another node may wait to be stored (MailTransportOptions.sendTimeoutMs). */
  readonly sendTimeoutMs?: number;
  readonly log?: (record: ClusterLogRecord) => void;
}

/** What the cluster tells the node that hosts it. */
export interface ClusterEvents {
  /** Every process of `down` (a node that stopped beating, left, or restarted) is gone. */
  nodeDown(down: NodeIdentity): void;
  /** This node was declared down while cut off: it must stop, and start again as a new one. */
  expelled(): void;
}

/**
 * One node's place in a cluster: its membership (identity, liveness, the view), and its
 * transport (mail and spawns to the other nodes). Joining gives the node its incarnation, which
 * its PIDs carry; `attach` then turns committed views into "node down" for the process system.
 */
export class ClusterNode {
  private readonly unsubscribe: (() => void)[] = [];

  private constructor(
    readonly membership: Membership,
    readonly transport: ClusterTransport,
    /** Cluster-wide process names, for the process system (`ProcessSystemOptions.names`). */
    readonly names: ClusterNameRegistry,
  ) {}

  static async join(options: JoinClusterOptions): Promise<ClusterNode> {
    const { connection, node, prefix = 'luact', replicas = 1 } = options;
    const log = options.log ?? (() => {});
    const membership = await Membership.join({
      connection,
      node,
      queues: options.queues ?? [],
      prefix,
      replicas,
      ...options.liveness,
      log: (level, message, fields) => log({ level, message, fields }),
    });
    try {
      const mail = await MailTransport.open({
        connection,
        node,
        incarnation: membership.incarnation,
        stream: `${prefix.toUpperCase()}_MAIL`,
        subjectPrefix: `${prefix}.mail`,
        blobBucket: `${prefix}_mail`,
        replicas,
        ...(options.sendTimeoutMs !== undefined ? { sendTimeoutMs: options.sendTimeoutMs } : {}),
        log: (record: MailLogRecord) => log(record),
      });
      const control = new ControlChannel(connection, `${prefix}.ctl`);
      const isMember = (other: string) => membership.view.members[other] !== undefined;
      const transport = new ClusterTransport(mail, control, isMember);
      let names: ClusterNameRegistry;
      try {
        names = await ClusterNameRegistry.open({
          connection,
          identity: transport.identity,
          prefix,
          replicas,
          log: (record: MailLogRecord) => log(record),
        });
      } catch (error) {
        await transport.close().catch(() => {});
        throw error;
      }
      return new ClusterNode(membership, transport, names);
    } catch (error) {
      await membership.leave().catch(() => {});
      throw error;
    }
  }

  get identity(): NodeIdentity {
    return this.transport.identity;
  }

  /** The last committed view. */
  get view(): View {
    return this.membership.view;
  }

  /**
   * Acts on every committed view from now on: a member that left or was declared down is a
   * node down for `events` (after its mail held here is released), and this node found outside
   * the view is expelled.
   */
  attach(events: ClusterEvents): void {
    this.unsubscribe.push(
      this.membership.onView((view) => {
        for (const change of view.changes) {
          if (change.kind === 'joined') continue;
          const down = { node: change.node, incarnation: change.incarnation };
          if (down.node === this.identity.node && down.incarnation === this.identity.incarnation)
            continue;
          this.transport.forget(down);
          this.names.nodeDown(down);
          events.nodeDown(down);
        }
      }),
      this.membership.onExpelled(() => events.expelled()),
    );
  }

  /**
   * Leaves the view (others see it leave at once, and release the names this node still
   * holds) and closes the transport.
   */
  async leave(): Promise<void> {
    for (const stop of this.unsubscribe.splice(0)) stop();
    await this.names.close();
    await this.membership.leave().catch(() => {});
    await this.transport.close();
  }
}

/**
 * The cluster's last committed view as its streams hold it (members, incarnations, partition
 * owners), read from the stream leader; undefined when no node ever joined.
 */
export async function readClusterView(
  connection: NatsConnection,
  prefix = 'luact',
): Promise<CommittedClusterView | undefined> {
  return latestClusterView(connection, await managerOf(connection), prefix);
}

export interface CommittedClusterView {
  readonly view: View;
  /** Server time (ms) the view was committed. */
  readonly committedAt: number;
}

/** A JetStream manager on `connection`; UNAVAILABLE when JetStream does not answer. */
export async function managerOf(connection: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(connection);
  } catch (error) {
    throw natsFailure(connection, 'reach JetStream', error);
  }
}

/** readClusterView with a manager the caller already has. */
export async function latestClusterView(
  connection: NatsConnection,
  jsm: JetStreamManager,
  prefix: string,
): Promise<CommittedClusterView | undefined> {
  const log = new ViewLog(connection, jetstream(connection), jsm, membershipNames(prefix));
  try {
    const latest = await log.latest();
    return latest && { view: latest.view, committedAt: latest.committedAt };
  } catch (error) {
    // No view stream: no node of this cluster ever joined.
    if (error instanceof LuactError && /stream not found/i.test(error.message)) return undefined;
    throw error;
  }
}
