import { LuactError } from '@luact/core';
import type { NatsConnection } from '@nats-io/transport-node';

export type MembershipLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Where membership reports what it does (joins, views, fences); silent by default. */
export type MembershipLog = (
  level: MembershipLogLevel,
  message: string,
  fields: Readonly<Record<string, unknown>>,
) => void;

export interface MembershipOptions {
  /** The connection membership uses; it is not closed by `leave()`. */
  readonly connection: NatsConnection;
  /** This node's name: letters, digits, `_` and `-`. */
  readonly node: string;
  /** The workflow queues this node serves; their partitions get owners among their servers. */
  readonly queues?: readonly string[];
  /** P, partitions per queue, fixed by the cluster's first view. Default 64. */
  readonly partitions?: number;
  /** A beat every this many ms. Default 1 000. */
  readonly heartbeatMs?: number;
  /** A member is declared down this long (cluster clock) after its last beat. Default 4 000. */
  readonly downAfterMs?: number;
  /** This node reports itself fenced this long after its last acknowledged beat was sent. Default 2 500. */
  readonly fenceAfterMs?: number;
  /** No partition gets an owner before the view has had this many members. Default 1. */
  readonly minMembers?: number;
  /** Partitions moved for balance per view (an owner's loss moves its partitions at once). Default 8. */
  readonly maxMovesPerView?: number;
  /** Streams `<PREFIX>_NODES`, `<PREFIX>_VIEW`, subjects `<prefix>.nodes.>`, `<prefix>.view`. Default `luact`. */
  readonly prefix?: string;
  /** Stream replicas: 1, or 3 on a cluster. Default 1. */
  readonly replicas?: number;
  /** One request to NATS. Default 5 000. */
  readonly requestTimeoutMs?: number;
  /** `join()` and `leave()` give up after this long. Default 30 000. */
  readonly joinTimeoutMs?: number;
  readonly log?: MembershipLog;
}

export interface MembershipSettings {
  readonly connection: NatsConnection;
  readonly node: string;
  readonly queues: readonly string[];
  readonly partitions: number;
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
  readonly fenceAfterMs: number;
  readonly minMembers: number;
  readonly maxMovesPerView: number;
  readonly prefix: string;
  readonly replicas: number;
  readonly requestTimeoutMs: number;
  readonly joinTimeoutMs: number;
  readonly log: MembershipLog;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/** The options with their defaults, or an INVALID error naming the option and what is wrong. */
export function membershipSettings(options: MembershipOptions): MembershipSettings {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'Membership.join needs an options object');
  }
  const { connection, node, queues = [] } = options;
  if (typeof connection?.request !== 'function' || typeof connection.isClosed !== 'function') {
    throw invalid('connection', 'connection must be a NatsConnection');
  }
  if (typeof node !== 'string' || !NAME.test(node)) {
    throw invalid(
      'node',
      `node ${JSON.stringify(node)} is not a node name: use letters, digits, _ and -`,
    );
  }
  if (!Array.isArray(queues)) throw invalid('queues', 'queues must be a list of queue names');
  queues.forEach((queue, i) => {
    if (typeof queue !== 'string' || queue === '') {
      throw invalid('queues', `queues[${i}] is ${JSON.stringify(queue)}, not a queue name`);
    }
    if (queues.indexOf(queue) !== i) throw invalid('queues', `queue ${queue} is listed twice`);
  });
  const settings: MembershipSettings = {
    connection,
    node,
    queues: [...queues].sort(),
    partitions: integer(options, 'partitions', 64, 1, 100_000),
    heartbeatMs: integer(options, 'heartbeatMs', 1_000, 10),
    downAfterMs: integer(options, 'downAfterMs', 4_000, 1),
    fenceAfterMs: integer(options, 'fenceAfterMs', 2_500, 1),
    minMembers: integer(options, 'minMembers', 1, 1),
    maxMovesPerView: integer(options, 'maxMovesPerView', 8, 1),
    prefix: options.prefix ?? 'luact',
    replicas: integer(options, 'replicas', 1, 1, 5),
    requestTimeoutMs: integer(options, 'requestTimeoutMs', 5_000, 1),
    joinTimeoutMs: integer(options, 'joinTimeoutMs', 30_000, 1),
    log: options.log ?? (() => {}),
  };
  if (typeof settings.prefix !== 'string' || !NAME.test(settings.prefix)) {
    throw invalid(
      'prefix',
      `prefix ${JSON.stringify(settings.prefix)}: use letters, digits, _ and -`,
    );
  }
  if (typeof settings.log !== 'function') throw invalid('log', 'log must be a function');
  const { heartbeatMs: h, downAfterMs: d, fenceAfterMs: f } = settings;
  if (d < 3 * h) {
    throw invalid('downAfterMs', `downAfterMs (${d}) must be at least 3 × heartbeatMs (${h})`);
  }
  if (!(h < f && f < d)) {
    throw invalid(
      'fenceAfterMs',
      `fenceAfterMs (${f}) must lie between heartbeatMs (${h}) and downAfterMs (${d}): a member fences itself before the others declare it down`,
    );
  }
  return settings;
}

function integer(
  options: MembershipOptions,
  name: keyof MembershipOptions,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw invalid(name, `${name} is ${JSON.stringify(value)}, not an integer ${range}`);
  }
  return value as number;
}

function invalid(option: string, message: string): LuactError {
  return new LuactError('INVALID', `Membership.join: ${message}`, { details: { option } });
}
