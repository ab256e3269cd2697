/**
 * Calls a worker thread makes of what the node keeps on its main thread (env storages, the
 * event bus, the services): a `call` record on the worker's link to main, answered by an
 * `answer` or `call-failed` record on the same link. A call with id 0 is a notice: nothing
 * answers it. A call whose thread is gone, or whose link closes, fails UNAVAILABLE: nothing
 * waits for an answer that cannot come.
 */
import { LuactError } from '@luact/core';
import { decodeValue, encodeValue } from '@luact/lua';
import type {
  BusEvent,
  Envelope,
  ExternalSpawnRequest,
  RemoteSpawnRequest,
  Signal,
} from '@luact/process';
import type { RegistryBackend } from '../registry-module/module.js';
import { PendingAnswers } from './pending-answers.js';
import type { ThreadLink } from './thread-link.js';
import type { ThreadRecord, WireSignal } from './thread-records.js';

/** What a worker asks of the main thread. */
export type MainCall = ServiceCall | ClusterCall;

/**
 * What a worker's processes do with the node's cluster, which the main thread alone reaches
 * (its one NATS connection): mail, signals and spawns to other nodes, in order per worker as
 * they travel on its link, and cluster names (see ClusterRelay).
 */
export type ClusterCall =
  | { readonly s: 'cluster.send'; readonly node: string; readonly envelope: Envelope }
  | { readonly s: 'cluster.signal'; readonly node: string; readonly signal: WireSignal }
  | { readonly s: 'cluster.spawn'; readonly node: string; readonly request: RemoteSpawnRequest }
  | { readonly s: 'cluster.name.register'; readonly name: string; readonly pid: string }
  | { readonly s: 'cluster.name.unregister'; readonly name: string }
  /** A notice: the process `pid`, which holds cluster names, ended. */
  | { readonly s: 'cluster.name.exited'; readonly pid: string };

/** Whether `call` is one of the cluster's. */
export function isClusterCall(call: MainCall): call is ClusterCall {
  return call.s.startsWith('cluster.');
}

/** What a worker asks of the services the node keeps on its main thread. */
export type ServiceCall =
  | { readonly s: 'env.get'; readonly name: string; readonly namespace: string }
  | {
      readonly s: 'env.set';
      readonly name: string;
      readonly value: string;
      readonly namespace: string;
    }
  | { readonly s: 'env.all' }
  /** Main forwards the events matching the patterns to the worker, tagged `sub`. */
  | {
      readonly s: 'events.subscribe';
      readonly sub: number;
      readonly system: string;
      readonly kind: string | undefined;
    }
  | { readonly s: 'events.unsubscribe'; readonly sub: number }
  | { readonly s: 'events.send'; readonly event: BusEvent }
  | { readonly s: 'supervisor.status'; readonly id: string }
  | { readonly s: 'supervisor.list' }
  /** What a worker's process does with a workflow host (kept on main): see workflowsOnMain. */
  | {
      readonly s: 'workflow.spawn';
      readonly host: string;
      readonly request: Omit<ExternalSpawnRequest, 'context'> & {
        readonly context: readonly (readonly [string, Uint8Array])[];
      };
    }
  | { readonly s: 'workflow.send'; readonly host: string; readonly envelope: Envelope }
  | {
      readonly s: 'workflow.signal';
      readonly host: string;
      readonly signal: Extract<Signal, { kind: 'cancel' | 'terminate' }>;
    }
  /** Main tells the worker when `pid` ends, with a `workflow-ended` record tagged `watch`. */
  | {
      readonly s: 'workflow.watch';
      readonly host: string;
      readonly pid: string;
      readonly watch: number;
    }
  /** A call of the registry module's backend (registryOf on main). */
  | {
      readonly s: 'registry';
      readonly op: keyof RegistryBackend;
      readonly args: readonly unknown[];
    }
  /**
   * A call of a function on main (a TypeScript function registered there, or an attempt of a
   * retried call on its function host); answered with its value's bytes or its error.
   */
  | {
      readonly s: 'funcs.invoke';
      readonly entry: string;
      readonly args: Uint8Array;
      readonly context: readonly (readonly [string, Uint8Array])[];
      readonly caller: string | undefined;
      /** The worker's number for the attempt, which `funcs.cancel` names. */
      readonly attempt?: number;
    }
  | { readonly s: 'funcs.cancel'; readonly attempt: number; readonly reason: string };

/** The calls this thread waits on, by id. */
export class ThreadCalls {
  private readonly waiting = new PendingAnswers<unknown>();

  /** Asks `thread` over `link`; resolves with its answer, rejects with its error. */
  call(thread: string, link: ThreadLink, call: MainCall): Promise<unknown> {
    return this.waiting.ask(thread, (id) => link.post({ t: 'call', id, call }));
  }

  /** Tells `link`'s thread `call`, wanting no answer. */
  tell(link: ThreadLink, call: MainCall): void {
    link.post({ t: 'call', id: 0, call });
  }

  /** An answer came. */
  settle(record: Extract<ThreadRecord, { readonly t: 'answer' | 'call-failed' }>): void {
    const waiting = this.waiting.take(record.id);
    if (waiting === undefined) return;
    if (record.t === 'answer') waiting.resolve(record.value);
    else waiting.reject(LuactError.from(decodeValue(record.error)));
  }

  /** The calls to `thread` (every call when undefined) fail with `error`. */
  fail(thread: string | undefined, error: LuactError): void {
    this.waiting.fail(thread, error);
  }
}

/**
 * Answers `call` from another thread on `link` with what `answer` gives (at once or later);
 * a notice (id 0) gets no answer. A thread gone meanwhile just gets no record (its link is
 * closed): main never waits on a worker.
 */
export function answerCall(
  link: ThreadLink,
  record: Extract<ThreadRecord, { readonly t: 'call' }>,
  answer: (call: MainCall) => unknown,
): void {
  const { id } = record;
  const failed = (error: unknown) => {
    if (id !== 0) link.post({ t: 'call-failed', id, error: encodeValue(LuactError.from(error)) });
  };
  const answered = (value: unknown) => {
    if (value instanceof LuactError) failed(value);
    else if (id !== 0) link.post({ t: 'answer', id, value });
  };
  let value: unknown;
  try {
    value = answer(record.call);
  } catch (error) {
    failed(error);
    return;
  }
  if (value instanceof Promise) value.then(answered, failed);
  else answered(value);
}
