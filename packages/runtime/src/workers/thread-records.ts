/**
 * What travels between the threads of one node (see ThreadLink): mail, signals, spawns and
 * their answers, and what a worker's processes print and log. Structured-clone data: the one
 * thing that would not survive the copy, a LuactError (it would arrive as a plain Error without
 * its kind), travels as its data.
 */
import { type ErrorData, LuactError } from '@luact/core';
import { decodeValue, encodeValue, type LogRecord } from '@luact/lua';
import type {
  BusEvent,
  Envelope,
  ExitOutcome,
  Pid,
  RemoteSpawnRequest,
  Signal,
} from '@luact/process';
import type { MainCall } from './thread-calls.js';
import type { RegistryCopy } from './worker-boot.js';

export type ThreadRecord =
  | { readonly t: 'mail'; readonly envelope: Envelope }
  | { readonly t: 'signal'; readonly signal: WireSignal }
  | { readonly t: 'spawn'; readonly id: number; readonly request: RemoteSpawnRequest }
  | { readonly t: 'spawned'; readonly id: number; readonly pid: Pid }
  | { readonly t: 'spawn-failed'; readonly id: number; readonly error: ErrorData }
  | { readonly t: 'print'; readonly text: string }
  | { readonly t: 'log'; readonly record: LogRecord }
  /** The registry changed (main to worker, in order with the mail that may depend on it). */
  | { readonly t: 'registry'; readonly registry: RegistryCopy }
  /** Mail that may not fit its receiver's mailbox: the receiver answers with its verdict. */
  | { readonly t: 'mail-ask'; readonly id: number; readonly envelope: Envelope }
  /** A cancel request that may not fit (it counts like a message): answered like mail-ask. */
  | {
      readonly t: 'cancel-ask';
      readonly id: number;
      readonly signal: Extract<Signal, { readonly kind: 'cancel' }>;
    }
  | { readonly t: 'mail-answer'; readonly id: number; readonly error?: ErrorData }
  /**
   * Register cluster name `name` for `pid`, a process of the receiving thread, there: answered
   * like mail-ask.
   */
  | {
      readonly t: 'cluster-name-for';
      readonly id: number;
      readonly name: string;
      readonly pid: Pid;
    }
  /** What the mailbox of `pid` holds: asked for in a `room` after the batch. */
  | { readonly t: 'room-ask'; readonly pid: Pid }
  /**
   * After the batch `batch` of a link, what the mailboxes asked about hold: [pid, messages,
   * bytes] triples, messages -1 for a process that has ended.
   */
  | { readonly t: 'room'; readonly batch: number; readonly rooms: readonly (string | number)[] }
  /** A call of what main keeps (see thread-calls.ts), and its answer. */
  | { readonly t: 'call'; readonly id: number; readonly call: MainCall }
  | { readonly t: 'answer'; readonly id: number; readonly value: unknown }
  /** Its error as msgpack, so errors in its details keep their kind and message. */
  | { readonly t: 'call-failed'; readonly id: number; readonly error: Uint8Array }
  /** TypeScript functions registered on main (main to worker): calls of them go there. */
  | { readonly t: 'functions'; readonly ids: readonly string[] }
  /** A workflow a worker watches (see workflowsOnMain) ended (main to worker). */
  | { readonly t: 'workflow-ended'; readonly watch: number; readonly outcome: WireOutcome }
  /** An event for a worker's subscription `sub` (main to worker, in the bus's order). */
  | { readonly t: 'event'; readonly sub: number; readonly event: BusEvent }
  /**
   * The cluster declared a node (that incarnation of it) down (main to worker, after the mail
   * main forwarded from it): what the worker's processes followed there ends.
   */
  | { readonly t: 'node-down'; readonly node: string; readonly incarnation: number }
  /** A cluster name's holder changed (main to worker); no `pid`: it was released. */
  | { readonly t: 'cluster-name'; readonly name: string; readonly pid?: Pid }
  /** The members of the cluster's new view (main to worker, with placement `spread`). */
  | { readonly t: 'cluster-members'; readonly members: readonly string[] }
  | NameRecord;

/**
 * Process names (see thread-names.ts). A worker asks the main thread (`claim`, `drop`; answered
 * with `answer`) and tells it of its processes' ends (`released`); the main thread changes
 * every worker's copy (`set`, `gone`, acknowledged with `acked` when they carry `ack`) and asks
 * a worker whether its process holds or may take a name (`hold`, answered with `held`).
 */
export type NameRecord =
  | {
      readonly t: 'name-claim';
      readonly id: number;
      readonly name: string;
      readonly pid: Pid;
      /** The asking thread runs `pid` and let it take the name, or is about to start it. */
      readonly taken: boolean;
    }
  | { readonly t: 'name-drop'; readonly id: number; readonly name: string }
  | { readonly t: 'name-released'; readonly pid: Pid; readonly names: readonly string[] }
  | { readonly t: 'name-answer'; readonly id: number; readonly error?: ErrorData }
  | {
      readonly t: 'name-set' | 'name-gone';
      readonly name: string;
      readonly pid: Pid;
      readonly ack?: number;
    }
  | { readonly t: 'name-acked'; readonly ack: number }
  | {
      readonly t: 'name-hold';
      readonly id: number;
      readonly name: string;
      readonly pid: Pid;
      /** Take the name (true), or only say whether the process holds it. */
      readonly take: boolean;
    }
  | { readonly t: 'name-held'; readonly id: number; readonly error?: ErrorData };

/** A signal whose errors are data. */
export type WireSignal =
  | Exclude<Signal, { readonly outcome: ExitOutcome } | { readonly kind: 'refused' | 'terminate' }>
  | (Omit<Extract<Signal, { readonly kind: 'terminate' }>, 'error'> & {
      readonly error?: ErrorData;
    })
  | (Omit<Extract<Signal, { readonly outcome: ExitOutcome }>, 'outcome'> & {
      readonly outcome: WireOutcome;
    })
  | (Omit<Extract<Signal, { readonly kind: 'refused' }>, 'error'> & { readonly error: ErrorData });

/** An outcome whose error is msgpack (errors in its details keep their kind and message). */
export type WireOutcome =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly error: Uint8Array };

export function signalRecord(signal: Signal): ThreadRecord {
  switch (signal.kind) {
    case 'exit':
    case 'link-down':
    case 'result':
      return {
        t: 'signal',
        signal: { ...signal, outcome: wireOutcome(signal.outcome) } as WireSignal,
      };
    case 'refused':
      return { t: 'signal', signal: { ...signal, error: signal.error.toData() } };
    case 'terminate':
      return signal.error === undefined
        ? { t: 'signal', signal: { kind: signal.kind, to: signal.to, from: signal.from } }
        : { t: 'signal', signal: { ...signal, error: signal.error.toData() } };
    default:
      return { t: 'signal', signal };
  }
}

export function signalOf(wire: WireSignal): Signal {
  if ('outcome' in wire) return { ...wire, outcome: outcomeOf(wire.outcome) } as Signal;
  if (wire.kind === 'refused') return { ...wire, error: LuactError.fromData(wire.error) };
  if (wire.kind === 'terminate' && wire.error !== undefined)
    return { ...wire, error: LuactError.fromData(wire.error) };
  return wire as Signal;
}

export function wireOutcome(outcome: ExitOutcome): WireOutcome {
  return outcome.ok ? outcome : { ok: false, error: encodeValue(outcome.error) };
}

export function outcomeOf(wire: WireOutcome): ExitOutcome {
  return wire.ok ? wire : { ok: false, error: LuactError.from(decodeValue(wire.error)) };
}
