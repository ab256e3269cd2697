import { type EntryId, LuactError, type RetryPolicy, splitEntryId } from '@luact/core';
import type { Clock } from '@luact/lua';
import { callRoom, checkArguments, checkContext } from './admission.js';
import type { ProcessHost } from './host.js';
import {
  type HostFunctionEntry,
  type HostFunctionRun,
  type HostFunctionRunRequest,
  runHostFunction,
} from './host-function-run.js';
import { deliverOutcome } from './outcome.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import { RemoteCalls } from './remote-calls.js';
import { type Attempt, type AttemptRequest, RetriedCalls } from './retried-calls.js';
import type { Delivery, ExitOutcome, RemoteSpawnRequest, Signal } from './transport.js';

/** The handles of calls of TypeScript functions (see FunctionCalls.cancel). */
const HOST_CALL_PREFIX = 'host-call:';

/** A `funcs.call` of a process: entry as written, relative to the caller's namespace. */
export interface FunctionCallRequest {
  readonly entry: string;
  readonly args: Uint8Array;
  readonly caller: Process;
  readonly channel: number;
  readonly context: ReadonlyMap<string, Uint8Array>;
  readonly timeoutMs: number | undefined;
  /** Run it on this node of the cluster (the call option `node`). */
  readonly node?: string | undefined;
}

/** A function run for TypeScript code (a workflow's activity). */
export interface FunctionInvocation {
  readonly entry: EntryId;
  readonly args: Uint8Array;
  readonly context: ReadonlyMap<string, Uint8Array>;
  readonly timeoutMs?: number;
  /** The process the call is made for (a process of another thread calling a TypeScript function). */
  readonly callerPid?: Pid;
}

export interface Invocation {
  readonly outcome: Promise<ExitOutcome>;
  cancel(reason: string): void;
}

/** What function calls need of the process system. */
export interface FunctionCallHost {
  readonly clock: Pick<Clock, 'schedule'>;
  /** This node's name (undefined standalone). */
  node(): string | undefined;
  readonly functionHostId: string;
  /** The function host of this thread (none on a worker thread: its limits are main's). */
  functionHost(): ProcessHost | undefined;
  /**
   * On a node with worker threads: where a call of `entry` by `caller`
   * runs — the thread (undefined: this one), the host and what it runs it as; NOT_FOUND when
   * there is no such entry. Another thread is reached like another node, through `spawnRemote`.
   */
  callPlace?(
    entry: EntryId,
    caller: Process,
  ): {
    readonly thread: string | undefined;
    readonly host: string;
    readonly kinds: readonly ['function.lua' | 'process.lua'];
  };
  /**
   * One attempt of a retried call run on `thread` (a worker's calls: the function host is on
   * main), followed from here.
   */
  attemptOn?(thread: string, request: AttemptRequest): Attempt;
  /** The entry ID `reference` names from `namespace`. */
  resolveEntry(reference: string, namespace: string | undefined): EntryId;
  /** Spawns a function.lua on the function host (a process function on its own host); throws why it cannot. */
  spawnFunction(request: {
    readonly entry: EntryId;
    readonly args: Uint8Array;
    readonly context: ReadonlyMap<string, Uint8Array>;
    readonly caller?: Process;
    readonly channel?: number;
  }): Pid;
  /** The retry policy of a plain call of `entry` (its `meta.options.retry`), if it has one. */
  retryPolicyOf(entry: EntryId): RetryPolicy | undefined;
  process(pid: Pid): Process | undefined;
  kill(process: Process, error: LuactError): void;
  waitForExit(pid: Pid): Promise<ExitOutcome>;
  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<Pid>;
  signal(signal: Signal): Delivery;
}

/**
 * Function calls: `funcs.call` of processes and `invoke` for TypeScript. A function.lua runs as
 * a process of the function host (of this node, or of another node with `node`); a registered
 * TypeScript function runs here. A call ends with its caller, and can time out or be canceled.
 */
export class FunctionCalls {
  private readonly hostFunctions = new Map<string, HostFunctionEntry>();
  private readonly remote: RemoteCalls;
  private readonly retried: RetriedCalls;
  /** Running calls of TypeScript functions by handle, with their callers (see cancel). */
  private readonly hostCalls = new Map<
    string,
    { readonly caller: Process; readonly run: HostFunctionRun }
  >();
  private nextHostCall = 1;

  constructor(private readonly host: FunctionCallHost) {
    this.retried = new RetriedCalls({
      clock: host.clock,
      spawnAttempt: (attempt) => {
        const callee = host.process(host.spawnFunction(attempt)) as Process;
        chained(attempt.caller, callee);
        return {
          onEnd: (listener) => callee.exitListeners.add(listener),
          stop: (error) => host.kill(callee, error),
        };
      },
    });
    this.remote = new RemoteCalls({
      clock: host.clock,
      spawnRemote: (node, request) => host.spawnRemote(node, request),
      signal: (signal) => host.signal(signal),
      deliverOutcome,
    });
  }

  /** Whether `id` is a registered TypeScript function (not an entry). */
  isHostFunction(id: string): boolean {
    return this.hostFunctions.has(id);
  }

  register(id: string, fn: HostFunctionEntry): void {
    if (this.hostFunctions.has(id))
      throw new LuactError('ALREADY_EXISTS', `function ${id} is already registered`);
    this.hostFunctions.set(id, fn);
  }

  call(request: FunctionCallRequest): string {
    const namespace = splitEntryId(request.caller.entry).namespace;
    const entryId = this.host.resolveEntry(request.entry, namespace);
    const busy = callRoom(request.caller, entryId);
    if (busy) throw busy;
    const hostFunction = this.hostFunctions.get(entryId);
    if (request.node === undefined && hostFunction === undefined && this.host.callPlace) {
      // A node with worker threads: the callee runs on the thread of its host.
      const place = this.host.callPlace(entryId, request.caller);
      const { attemptOn } = this.host;
      const policy = this.host.retryPolicyOf(entryId);
      if (place.thread !== undefined && policy && attemptOn && place.kinds[0] === 'function.lua') {
        const thread = place.thread;
        return this.retried.start({ ...request, entry: entryId, policy }, (attempt) =>
          attemptOn(thread, attempt),
        );
      }
      if (place.thread !== undefined) {
        return this.remote.start({
          ...request,
          node: place.thread,
          entry: entryId,
          host: place.host,
          kinds: place.kinds,
        });
      }
    } else if (request.node !== undefined && request.node !== this.host.node()) {
      return this.remote.start({
        ...request,
        node: request.node,
        entry: entryId,
        host: this.host.functionHostId,
      });
    }
    if (hostFunction) {
      const functions = this.host.functionHost();
      const tooLarge =
        functions &&
        (checkArguments(request.args, entryId, functions) ??
          checkContext(request.context, entryId, functions));
      if (tooLarge) throw tooLarge;
      request.caller.mailbox.expectResult(request.channel);
      return this.callHostFunction(entryId, hostFunction, request);
    }
    const policy = this.host.retryPolicyOf(entryId);
    if (policy) return this.retried.start({ ...request, entry: entryId, policy });
    const pid = this.host.spawnFunction({
      entry: entryId,
      args: request.args,
      context: request.context,
      caller: request.caller,
      channel: request.channel,
    });
    const callee = this.host.process(pid) as Process;
    chained(request.caller, callee);
    // The call ends with its caller: a function is part of the work of the process that called it.
    const endWithCaller = () =>
      this.host.kill(callee, new LuactError('CANCELED', 'the caller ended'));
    request.caller.exitListeners.add(endWithCaller);
    callee.exitListeners.add(() => request.caller.exitListeners.delete(endWithCaller));
    if (request.timeoutMs !== undefined) {
      const cancel = this.host.clock.schedule(request.timeoutMs, () =>
        this.host.kill(
          callee,
          new LuactError('TIMEOUT', `call of ${entryId} timed out after ${request.timeoutMs} ms`),
        ),
      );
      callee.exitListeners.add(() => cancel());
    }
    return pid;
  }

  /** The result of a call made to another node arrived (see RemoteCalls.settled). */
  settled(caller: Pid, channel: number): void {
    this.remote.settled(caller, channel);
  }

  invoke(request: FunctionInvocation): Invocation {
    const hostFunction = this.hostFunctions.get(request.entry);
    if (hostFunction) {
      const { timeoutMs } = request;
      const run = runHostFunction(hostFunction, {
        entry: request.entry,
        args: request.args,
        context: request.context,
        caller: request.callerPid,
        ...this.timeoutOf(timeoutMs, `${request.entry} timed out after ${timeoutMs} ms`),
      });
      return {
        outcome: run.outcome,
        cancel: (reason) => run.stop(new LuactError('CANCELED', reason, { retryable: false })),
      };
    }
    const pid = this.host.spawnFunction(request);
    const callee = this.host.process(pid) as Process;
    const outcome = this.host.waitForExit(pid);
    const { timeoutMs } = request;
    if (timeoutMs !== undefined) {
      const stop = this.host.clock.schedule(timeoutMs, () =>
        this.host.kill(
          callee,
          new LuactError('TIMEOUT', `${request.entry} timed out after ${timeoutMs} ms`),
        ),
      );
      callee.exitListeners.add(() => stop());
    }
    return {
      outcome,
      cancel: (reason) =>
        this.host.kill(callee, new LuactError('CANCELED', reason, { retryable: false })),
    };
  }

  cancel(id: string, caller: Process): boolean {
    if (RemoteCalls.owns(id)) return this.remote.cancel(id, caller);
    if (RetriedCalls.owns(id)) return this.retried.cancel(id, caller);
    if (id.startsWith(HOST_CALL_PREFIX)) {
      const call = this.hostCalls.get(id);
      if (call?.caller !== caller) return false;
      call.run.stop(new LuactError('CANCELED', 'call canceled', { retryable: false }));
      return true;
    }
    // A call's callee is the process whose outcome the caller waits for (a function.lua on the
    // function host, or a process function on its default host).
    const callee = this.host.process(id as Pid);
    if (!callee?.outcomeWaiters.some((waiter) => waiter.process === caller)) return false;
    this.host.kill(callee, new LuactError('CANCELED', 'call canceled', { retryable: false }));
    return true;
  }

  /** A run's time limit, when its call has one (`message`: its TIMEOUT error's). */
  private timeoutOf(
    ms: number | undefined,
    message: string,
  ): Pick<HostFunctionRunRequest, 'timeout'> {
    return ms === undefined ? {} : { timeout: { clock: this.host.clock, ms, message } };
  }

  /**
   * Calls TypeScript function `fn` for `request`'s caller: like a function.lua's call, it can
   * time out and be canceled, and ends with its caller. Returns its handle.
   */
  private callHostFunction(
    entryId: string,
    fn: HostFunctionEntry,
    request: FunctionCallRequest,
  ): string {
    const handle = `${HOST_CALL_PREFIX}${this.nextHostCall++}`;
    const { caller, channel, timeoutMs } = request;
    const run = runHostFunction(fn, {
      entry: entryId,
      args: request.args,
      context: request.context,
      caller: caller.pid,
      ...this.timeoutOf(timeoutMs, `call of ${entryId} timed out after ${timeoutMs} ms`),
    });
    const endWithCaller = () => run.stop(new LuactError('CANCELED', 'the caller ended'));
    caller.exitListeners.add(endWithCaller);
    this.hostCalls.set(handle, { caller, run });
    void run.outcome.then((outcome) => {
      this.hostCalls.delete(handle);
      caller.exitListeners.delete(endWithCaller);
      deliverOutcome(caller, channel, outcome, entryId);
    });
    return handle;
  }
}

/**
 * `callee` runs a call of `caller`'s: it counts against the process that started the chain of
 * calls (see callRoom) while it runs, and the calls it makes count there too.
 */
function chained(caller: Process, callee: Process): void {
  const root = caller.callRoot ?? caller;
  callee.callRoot = root;
  root.nestedCalls++;
  callee.exitListeners.add(() => root.nestedCalls--);
}
