import type { LuactError } from '@luact/core';
import type { NameScope } from './names.js';
import type { NodeIdentity, Pid } from './pid.js';

/** A message between processes: topic, msgpack-encoded payload values, sender if any. */
export interface Envelope {
  readonly to: Pid;
  readonly from: Pid | undefined;
  readonly topic: string;
  readonly payload: Uint8Array;
  /**
   * Set by a workflow's send command (`<workflow>#<run>:<seq>`): a receiver that journals what it
   * takes (a workflow) takes it once, however often the command is carried out again.
   */
  readonly origin?: string;
}

/**
 * One-way notices between processes that are not messages: the end of a monitored or linked
 * process, a cancel request, a forced termination.
 */
export type Signal =
  | {
      readonly kind: 'exit';
      readonly to: Pid;
      readonly from: Pid;
      readonly at: bigint;
      readonly outcome: ExitOutcome;
    }
  | {
      readonly kind: 'link-down';
      readonly to: Pid;
      readonly from: Pid;
      readonly at: bigint;
      readonly outcome: ExitOutcome;
    }
  | {
      readonly kind: 'cancel';
      readonly to: Pid;
      readonly from: Pid | undefined;
      readonly at: bigint;
      readonly reason: string | undefined;
    }
  | {
      readonly kind: 'terminate';
      readonly to: Pid;
      readonly from: Pid | undefined;
      /**
       * What the process ends with (default "terminated"): a service's own error when its
       * process runs on another thread (carried between a node's threads, not between nodes).
       */
      readonly error?: LuactError;
    }
  | RelationSignal
  | RefusalSignal
  | {
      /** The outcome of a child another node ran for `to` (`exec`): to fed channel `channel`. */
      readonly kind: 'result';
      readonly to: Pid;
      readonly from: Pid;
      readonly channel: number;
      readonly outcome: ExitOutcome;
    };

/**
 * A spawn a process of another node asked for: entry and host already resolved; the parent
 * stays on its node, and what it follows (monitor, link, the result of `exec`) comes back to
 * it as signals.
 */
export interface RemoteSpawnRequest {
  readonly entry: string;
  readonly host: string;
  readonly args: Uint8Array;
  /** Entry kinds the host runs for it (default process.lua; function.lua for a call). */
  readonly kinds?: readonly string[];
  readonly parent?: RemoteParent;
  readonly context?: readonly (readonly [string, Uint8Array])[];
  readonly name?: string;
  /** The scope of `name`, as the spawning node decided it (default `local`). */
  readonly nameScope?: NameScope;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly messages?: readonly { readonly topic: string; readonly payload: Uint8Array }[];
}

/** The parent of a process spawned for another node, and how it follows its child. */
export interface RemoteParent {
  readonly pid: Pid;
  readonly monitor: boolean;
  readonly link: boolean;
  /** `exec`: the parent's fed channel for the child's outcome (a `result` signal). */
  readonly resultChannel?: number;
}

/**
 * A process of another node starts or stops watching (`monitor`) or being linked to (`link`)
 * `to`. They travel in the same ordered channel as messages, so a monitor set up before a send
 * is in place when the message arrives. A monitor or link of a process that is not alive is
 * answered at once with EXIT or LINK_DOWN (NOT_FOUND).
 */
export interface RelationSignal {
  readonly kind: 'monitor' | 'demonitor' | 'link' | 'unlink';
  readonly to: Pid;
  readonly from: Pid;
}

/**
 * Mail `to` sent to `from` on another node was acknowledged by the mail channel and then
 * refused by the receiving node (`from` had ended, its mailbox was full, the message was over
 * its host's limit): that node tells the sender's node, which then knows an ended `from` is
 * gone (later sends answer NOT_FOUND at once) and can say why mail went nowhere.
 */
export interface RefusalSignal {
  readonly kind: 'refused';
  readonly to: Pid;
  readonly from: Pid;
  readonly topic: string;
  readonly error: LuactError;
}

/** How a process ended: its first return value (msgpack), or its error. */
export type ExitOutcome =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly error: LuactError };

/**
 * What sending did: undefined when delivered, the error that refused it, or a promise for a
 * receiver that takes it asynchronously (journaled first, or on another node) and settles once
 * it is accepted.
 */
export type Delivery = LuactError | undefined | Promise<void>;

/**
 * The mail half of a transport: carries envelopes and signals to processes of other nodes, in
 * send order per sender and receiver (signals in the same order as messages).
 */
export interface MailChannel {
  /** This node as its PIDs name it; undefined on a standalone node (PIDs then carry no node). */
  readonly identity: NodeIdentity | undefined;
  /**
   * Hands an envelope to another node: an error says why it cannot reach it; a promise settles
   * once the other node's mail accepted it (or rejects with why it could not).
   */
  sendRemote(node: string, envelope: Envelope): Delivery;
  signalRemote(node: string, signal: Signal): Delivery;
  /** Called once, with what to do with mail arriving from other nodes. */
  attach(receiver: MailRecipient): void;
  close(): Promise<void>;
}

/**
 * What a node did with mail from another: took it (undefined), refused it (the error: it is
 * dropped), or left it for the node's next run (`later`: mail to a name nobody holds while the
 * node stops; it stays in the node's mail, and so does everything after it).
 */
export type Handing = LuactError | undefined | 'later';

export interface MailRecipient {
  /**
   * Hands mail over; a promise when it waits first (mail to a name the starting node has not
   * registered yet), and mail taken later waits behind it.
   */
  deliver(envelope: Envelope): Handing | Promise<Handing>;
  signal(signal: Signal): void;
}

/**
 * Connects the process system to other nodes. The process system delivers to its own node
 * directly and hands everything else to the transport; a standalone node uses
 * `LocalTransport`, a cluster node the NATS one.
 */
export interface Transport extends MailChannel {
  /** Spawns on another node; resolves with the PID, rejects with why it could not. */
  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<Pid>;
  /** Called by the process system once, with what to do with traffic from other nodes. */
  attach(receiver: TransportReceiver): void;
}

export interface TransportReceiver extends MailRecipient {
  /**
   * Spawns for a process of another node; throws (or rejects, when a cluster name is won
   * first) with a LuactError saying why it cannot.
   */
  spawn(request: RemoteSpawnRequest): Pid | Promise<Pid>;
}
