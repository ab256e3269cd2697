/**
 * The backends of the modules whose state the node keeps on its main thread, as a worker
 * thread's processes use them: each call asks main through the thread link (thread-calls.ts)
 * and Lua waits for the answer. The modules' own bindings run on top (one binding per module).
 */
import { type EntryId, LuactError } from '@luact/core';
import { decodeValue, encodeValue } from '@luact/lua';
import type {
  BusEvent,
  EnvBackend,
  EventHub,
  EventPattern,
  EventSink,
  ExitOutcome,
  ExternalHost,
  HostFunctionEntry,
  Pid,
} from '@luact/process';
import type { ServiceStates, ServiceStatus } from '@luact/supervisor';
import type { RegistryBackend } from '../registry-module/module.js';
import { MAIN_THREAD } from './thread-plan.js';
import { outcomeOf, type WireOutcome } from './thread-records.js';
import type { WorkerRouter } from './worker-router.js';

/** env values from the node's storages (on main). */
export function envOnMain(router: WorkerRouter): EnvBackend {
  return {
    get: (name, namespace) =>
      router.call(MAIN_THREAD, { s: 'env.get', name, namespace }) as Promise<string>,
    set: (name, value, namespace) =>
      router.call(MAIN_THREAD, { s: 'env.set', name, value, namespace }) as Promise<true>,
    all: () => router.call(MAIN_THREAD, { s: 'env.all' }) as Promise<Record<string, string>>,
  };
}

/** The node's service states (on main). */
export function servicesOnMain(router: WorkerRouter): ServiceStates {
  return {
    status: (id) =>
      router.call(MAIN_THREAD, { s: 'supervisor.status', id }) as Promise<
        ServiceStatus | undefined
      >,
    list: () => router.call(MAIN_THREAD, { s: 'supervisor.list' }) as Promise<ServiceStatus[]>,
  };
}

/**
 * The node's event bus as a worker's processes see it: a subscription is made at main (which
 * forwards the matching events here, tagged with its number, in the bus's order) and a sent
 * event is sent on main's bus. Both travel on the link to main, so a process's subscriptions,
 * events and unsubscriptions reach main in the order it made them.
 */
export class WorkerEvents implements EventHub {
  private readonly sinks = new Map<number, EventSink>();
  private nextSub = 1;
  /** Main's answer to the latest subscription (it answers in order: all before it are taken). */
  private latest: Promise<void> | undefined;

  constructor(private readonly router: WorkerRouter) {}

  subscribe(system: EventPattern, kind: EventPattern | undefined, sink: EventSink): () => void {
    const sub = this.nextSub++;
    this.sinks.set(sub, sink);
    const taken = this.router.call(MAIN_THREAD, {
      s: 'events.subscribe',
      sub,
      system: system.text,
      kind: kind?.text,
    });
    this.latest = taken.then(() => undefined);
    return () => {
      if (!this.sinks.delete(sub)) return;
      this.router.tell(MAIN_THREAD, { s: 'events.unsubscribe', sub });
    };
  }

  subscribed(): Promise<void> | undefined {
    const latest = this.latest;
    this.latest = undefined;
    return latest;
  }

  send(event: BusEvent): void {
    this.router.tell(MAIN_THREAD, { s: 'events.send', event });
  }

  /** An event main forwarded for subscription `sub` (gone already: dropped). */
  deliver(sub: number, event: BusEvent): void {
    this.sinks.get(sub)?.(event);
  }
}

/**
 * A TypeScript function registered on main, as a worker's processes call it: the call runs
 * there (with the caller's PID and context) and its value or error comes back. A call that
 * ends here first (its time limit, a cancel, its caller's end: the signal) is canceled there.
 */
export function functionOnMain(router: WorkerRouter, entry: string): HostFunctionEntry {
  return (call, ...args) =>
    new Promise((resolve, reject) => {
      const attempt = router.invoke(MAIN_THREAD, {
        entry: entry as EntryId,
        args: encodeValue(args),
        context: new Map(Object.entries(call.context).map(([key, v]) => [key, encodeValue(v)])),
        caller: call.caller as Pid,
      });
      const cancel = () => attempt.stop(LuactError.from(call.signal.reason));
      call.signal.addEventListener('abort', cancel, { once: true });
      attempt.onEnd((outcome) => {
        call.signal.removeEventListener('abort', cancel);
        if (outcome.ok) resolve(decodeValue(outcome.value));
        else reject(outcome.error);
      });
    });
}

/**
 * The workflow hosts of the node (on main) as a worker's processes reach them: spawn, send,
 * cancel and terminate are calls answered once main's host has journaled them; a watch (a
 * monitor, a link, an `exec`'s outcome) is set up there, and main says when the workflow ends.
 */
export class WorkflowsOnMain {
  private readonly watching = new Map<number, (outcome: ExitOutcome) => void>();
  private nextWatch = 1;

  constructor(private readonly router: WorkerRouter) {}

  /** The workflow host `host` as seen from this worker. */
  host(host: string): ExternalHost {
    const call = (c: Parameters<WorkerRouter['call']>[1]) => this.router.call(MAIN_THREAD, c);
    return {
      spawn: async (request) =>
        (await call({
          s: 'workflow.spawn',
          host,
          request: { ...request, context: [...request.context] },
        })) as Pid,
      send: async (envelope) => {
        await call({ s: 'workflow.send', host, envelope });
      },
      signal: async (signal) => {
        await call({ s: 'workflow.signal', host, signal });
      },
      watch: async (pid, onExit) => {
        const watch = this.nextWatch++;
        this.watching.set(watch, onExit);
        try {
          await call({ s: 'workflow.watch', host, pid, watch });
        } catch (error) {
          this.watching.delete(watch);
          throw error as LuactError;
        }
      },
    };
  }

  /** Main said a watched workflow ended. */
  ended(watch: number, outcome: WireOutcome): void {
    const onExit = this.watching.get(watch);
    this.watching.delete(watch);
    onExit?.(outcomeOf(outcome));
  }
}

/** The node's registry (on main) as the registry module of a worker's processes sees it. */
export function registryOnMain(router: WorkerRouter): RegistryBackend {
  const ask =
    <K extends keyof RegistryBackend>(op: K) =>
    (...args: Parameters<RegistryBackend[K]>) =>
      router.call(MAIN_THREAD, { s: 'registry', op, args }) as ReturnType<RegistryBackend[K]>;
  return {
    current: ask('current'),
    get: ask('get'),
    list: ask('list'),
    find: ask('find'),
    versions: ask('versions'),
    kept: ask('kept'),
    previous: ask('previous'),
    next: ask('next'),
    apply: ask('apply'),
    applyVersion: ask('applyVersion'),
  };
}
