import { LuactError } from '@luact/core';
import type { Clock } from '@luact/lua';
import { forget } from './delivery.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { Delivery, ExitOutcome, RemoteSpawnRequest, Signal } from './transport.js';

/** What remote calls need of the process system. */
export interface RemoteCallHost {
  readonly clock: Pick<Clock, 'schedule'>;
  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<Pid>;
  signal(signal: Signal): Delivery;
  deliverOutcome(caller: Process, channel: number, outcome: ExitOutcome, from: string): void;
}

const HANDLE_PREFIX = 'remote-call:';

export interface RemoteCallRequest {
  readonly node: string;
  /** The function entry, resolved. */
  readonly entry: string;
  readonly host: string;
  /** What the host runs it as (default function.lua: a process function is a process.lua). */
  readonly kinds?: readonly ['function.lua' | 'process.lua'];
  readonly args: Uint8Array;
  readonly caller: Process;
  readonly channel: number;
  readonly context: ReadonlyMap<string, Uint8Array>;
  readonly timeoutMs: number | undefined;
}

interface RemoteCall {
  readonly request: RemoteCallRequest;
  /** The callee's PID, once the other node answered the spawn. */
  pid: Pid | undefined;
  /** Ended here (timeout, cancel, the caller's end): the callee is told to stop. */
  ended: boolean;
  readonly cleanups: (() => void)[];
}

/**
 * `funcs.call` of a function on another node (the call option `node`): the function runs as a
 * process of that node's function host, and its outcome comes back as a `result` signal. As a
 * local call, it ends with its caller and can time out or be canceled; then the callee is
 * terminated there and the caller gets TIMEOUT or CANCELED at once (a late result is dropped:
 * the caller no longer expects it).
 */
export class RemoteCalls {
  private nextId = 1;
  private readonly calls = new Map<string, RemoteCall>();
  /** Each running call's handle by where its result goes (`<caller>#<channel>`). */
  private readonly byResult = new Map<string, string>();

  constructor(private readonly host: RemoteCallHost) {}

  /** Whether a call handle is one of these (not the PID of a local callee). */
  static owns(handle: string): boolean {
    return handle.startsWith(HANDLE_PREFIX);
  }

  /** Starts the call; returns its handle (for `cancel`). */
  start(request: RemoteCallRequest): string {
    const handle = `${HANDLE_PREFIX}${this.nextId++}`;
    const call: RemoteCall = { request, pid: undefined, ended: false, cleanups: [] };
    this.calls.set(handle, call);
    const { caller, channel } = request;
    this.byResult.set(`${caller.pid}#${channel}`, handle);
    caller.mailbox.expectResult(channel);
    const onCallerExit = () => this.end(handle, undefined);
    caller.exitListeners.add(onCallerExit);
    call.cleanups.push(() => caller.exitListeners.delete(onCallerExit));
    if (request.timeoutMs !== undefined) {
      const timeoutMs = request.timeoutMs;
      call.cleanups.push(
        this.host.clock.schedule(timeoutMs, () =>
          this.end(
            handle,
            new LuactError(
              'TIMEOUT',
              `call of ${request.entry} on node "${request.node}" timed out after ${timeoutMs} ms`,
            ),
          ),
        ),
      );
    }
    this.host
      .spawnRemote(request.node, {
        entry: request.entry,
        host: request.host,
        args: request.args,
        kinds: request.kinds ?? ['function.lua'],
        parent: { pid: caller.pid, monitor: false, link: false, resultChannel: channel },
        ...(request.context.size > 0 ? { context: [...request.context] } : {}),
      })
      .then(
        (pid) => {
          call.pid = pid;
          if (call.ended) this.stopCallee(call);
        },
        (error: unknown) => this.end(handle, LuactError.from(error)),
      );
    return handle;
  }

  /** The result of a call arrived (or the callee is gone): it is settled. */
  settled(caller: Pid, channel: number): void {
    const handle = this.byResult.get(`${caller}#${channel}`);
    const call = handle === undefined ? undefined : this.calls.get(handle);
    if (handle !== undefined && call) this.forget(handle, call);
  }

  /** Cancels a call of `caller`; true when it was still running. */
  cancel(handle: string, caller: Process): boolean {
    const call = this.calls.get(handle);
    if (!call || call.request.caller !== caller || call.ended) return false;
    this.end(handle, new LuactError('CANCELED', 'call canceled', { retryable: false }));
    return true;
  }

  /** Ends a call here: the caller gets `error` (none when the caller itself ended). */
  private end(handle: string, error: LuactError | undefined): void {
    const call = this.calls.get(handle);
    if (!call || call.ended) return;
    call.ended = true;
    this.forget(handle, call);
    const { caller, channel, entry } = call.request;
    if (error) this.host.deliverOutcome(caller, channel, { ok: false, error }, entry);
    else caller.mailbox.forgetResult(channel);
    this.stopCallee(call);
  }

  private stopCallee(call: RemoteCall): void {
    if (call.pid === undefined) return;
    forget(this.host.signal({ kind: 'terminate', to: call.pid, from: call.request.caller.pid }));
  }

  private forget(handle: string, call: RemoteCall): void {
    this.calls.delete(handle);
    this.byResult.delete(`${call.request.caller.pid}#${call.request.channel}`);
    for (const cleanup of call.cleanups.splice(0)) cleanup();
  }
}
