import { type EntryId, LuactError } from '@luact/core';
import {
  compilePattern,
  type EnvBackend,
  type EventHub,
  type EventPattern,
  type ExternalHost,
  type FunctionInvocation,
  type Invocation,
  type Pid,
} from '@luact/process';
import type { ServiceStates } from '@luact/supervisor';
import type { RegistryBackend } from '../registry-module/module.js';
import type { ServiceCall } from './thread-calls.js';
import { type ThreadRecord, wireOutcome } from './thread-records.js';

export interface MainServicesOptions {
  /** The env variables main's own processes use (one set of storages for the node). */
  readonly env: EnvBackend;
  readonly events: EventHub;
  readonly services: () => ServiceStates | undefined;
  /** The registry as main's registry module reads and changes it. */
  readonly registry: RegistryBackend;
  /** The workflow host `id` of the node. */
  readonly workflowHost: (id: string) => ExternalHost | undefined;
  /** Runs a TypeScript function registered on main (ProcessSystem.invoke). */
  readonly invoke: (request: FunctionInvocation) => Invocation;
  /** Posts `record` on the link to `thread`. */
  readonly post: (thread: string, record: ThreadRecord) => void;
}

/**
 * What the main thread answers its worker threads' processes (see thread-calls.ts): env
 * values from the node's storages, the service states, calls of the TypeScript functions
 * registered on main, the workflow hosts, the registry, and the event bus — a worker's
 * subscription is one on main's bus that forwards matching events to its thread, in the bus's
 * order; a worker's event is sent on main's bus, so every subscriber of the node sees it.
 */
export class MainThreadServices {
  /** The function calls each worker thread runs here, by its attempt number (see funcs.cancel). */
  private readonly attempts = new Map<string, Map<number, Invocation>>();
  /** The forwarding subscriptions of each worker thread, by its subscription number. */
  private readonly forwards = new Map<string, Map<number, () => void>>();
  /**
   * How many times each worker thread was lost: what main does for a thread (a workflow's end
   * it watches) is for the thread of that time, not for the one that took its place.
   */
  private readonly losses = new Map<string, number>();
  /** Threads lost whose successor is not linked yet: what still comes from them is stale. */
  private readonly gone = new Set<string>();

  constructor(private readonly options: MainServicesOptions) {}

  answer(from: string, call: ServiceCall): unknown {
    // A call the lost thread made before it went: nobody waits for its answer.
    if (this.gone.has(from)) return new LuactError('UNAVAILABLE', `worker thread ${from} is gone`);
    const { env, events, services } = this.options;
    switch (call.s) {
      case 'env.get':
        return env.get(call.name, call.namespace);
      case 'env.set':
        return env.set(call.name, call.value, call.namespace);
      case 'env.all':
        return env.all();
      case 'events.subscribe': {
        const system = pattern(call.system);
        const kind = call.kind === undefined ? undefined : pattern(call.kind);
        const forward = (event: Parameters<EventHub['send']>[0]) => {
          this.options.post(from, { t: 'event', sub: call.sub, event });
          return true;
        };
        this.of(this.forwards, from).set(call.sub, events.subscribe(system, kind, forward));
        return true;
      }
      case 'events.unsubscribe':
        this.forwards.get(from)?.get(call.sub)?.();
        this.forwards.get(from)?.delete(call.sub);
        return true;
      case 'events.send':
        events.send(call.event);
        return true;
      case 'supervisor.status':
        return services()?.status(call.id);
      case 'supervisor.list':
        return services()?.list() ?? [];
      case 'registry': {
        const op = this.options.registry[call.op] as (...args: readonly unknown[]) => unknown;
        return op(...call.args);
      }
      case 'workflow.spawn':
        return this.workflows(call.host).spawn({
          ...call.request,
          context: new Map(call.request.context),
        });
      case 'workflow.send':
        return this.workflows(call.host)
          .send(call.envelope)
          .then(() => true);
      case 'workflow.signal':
        return this.workflows(call.host)
          .signal(call.signal)
          .then(() => true);
      case 'workflow.watch': {
        // The watch numbers are the thread's own: its successor numbers its watches anew.
        const losses = this.losses.get(from);
        return this.workflows(call.host)
          .watch(call.pid as Pid, (outcome) => {
            if (this.losses.get(from) !== losses) return;
            this.options.post(from, {
              t: 'workflow-ended',
              watch: call.watch,
              outcome: wireOutcome(outcome),
            });
          })
          .then(() => true);
      }
      case 'funcs.invoke': {
        const invocation = this.options.invoke({
          entry: call.entry as EntryId,
          args: call.args,
          context: new Map(call.context),
          ...(call.caller !== undefined ? { callerPid: call.caller as Pid } : {}),
        });
        const { attempt } = call;
        if (attempt !== undefined) this.of(this.attempts, from).set(attempt, invocation);
        return invocation.outcome.then((outcome) => {
          if (attempt !== undefined) this.attempts.get(from)?.delete(attempt);
          return outcome.ok ? outcome.value : outcome.error;
        });
      }
      case 'funcs.cancel':
        this.attempts.get(from)?.get(call.attempt)?.cancel(call.reason);
        return true;
      default: {
        const unknown: never = call;
        return new LuactError('INTERNAL', `unknown call ${JSON.stringify(unknown)}`);
      }
    }
  }

  private workflows(id: string): ExternalHost {
    const host = this.options.workflowHost(id);
    if (host === undefined) throw new LuactError('NOT_FOUND', `no workflow host ${id}`);
    return host;
  }

  /**
   * `thread` is gone: nothing is forwarded to it any more, its function calls here end, the
   * ends of the workflows it watched are not told to its successor, and what still comes from
   * it is refused until that successor is linked (threadLinked).
   */
  threadLost(thread: string): void {
    this.losses.set(thread, (this.losses.get(thread) ?? 0) + 1);
    this.gone.add(thread);
    for (const unsubscribe of this.forwards.get(thread)?.values() ?? []) unsubscribe();
    this.forwards.delete(thread);
    for (const invocation of this.attempts.get(thread)?.values() ?? [])
      invocation.cancel(`worker thread ${thread} is gone`);
    this.attempts.delete(thread);
  }

  /** A new thread took lost `thread`'s place, linked to main: what comes from it is its own. */
  threadLinked(thread: string): void {
    this.gone.delete(thread);
  }

  /** `thread`'s part of `map`. */
  private of<T>(map: Map<string, Map<number, T>>, thread: string): Map<number, T> {
    let part = map.get(thread);
    if (part === undefined) {
      part = new Map();
      map.set(thread, part);
    }
    return part;
  }
}

/** A pattern the worker checked already (the events module compiles it there first). */
function pattern(text: string): EventPattern {
  const compiled = compilePattern(text);
  if (typeof compiled === 'string') throw new LuactError('INVALID', compiled);
  return compiled;
}
