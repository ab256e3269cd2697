import { type EntryId, LuactError, type RetryPolicy, retryDelay } from '@luact/core';
import type { Clock } from '@luact/lua';
import { deliverOutcome } from './outcome.js';
import type { Process } from './process.js';
import type { ExitOutcome } from './transport.js';

/** What retried calls need of the process system. */
export interface RetriedCallHost {
  readonly clock: Pick<Clock, 'schedule'>;
  /** Starts one attempt (by default: the function as a process whose parent is `caller`); throws why not. */
  spawnAttempt(request: AttemptRequest): Attempt;
}

/** One attempt running: its end, and how to stop it. */
export interface Attempt {
  /** Calls `listener` once, when the attempt ends. */
  onEnd(listener: (outcome: ExitOutcome) => void): void;
  stop(error: LuactError): void;
}

export interface AttemptRequest {
  readonly entry: EntryId;
  readonly args: Uint8Array;
  readonly context: ReadonlyMap<string, Uint8Array>;
  readonly caller: Process;
}

export interface RetriedCallRequest extends AttemptRequest {
  /** The fed channel of the caller the call's outcome goes to. */
  readonly channel: number;
  /** Milliseconds all attempts together may take. */
  readonly timeoutMs: number | undefined;
  readonly policy: RetryPolicy;
}

/** One retried call as the caller's cancel reaches it. */
interface RetriedCall {
  readonly caller: Process;
  stop(error: LuactError): void;
}

const ID_PREFIX = 'retried:';

/**
 * What a plain call's `meta.options.retry` starts from (Wippy's function retry defaults): one
 * attempt unless the policy gives more, 100 ms before the first retry, doubling, at most 10 s.
 */
export const PLAIN_CALL_RETRY: RetryPolicy = {
  initialInterval: 100,
  backoffCoefficient: 2,
  maximumInterval: 10_000,
  maximumAttempts: 1,
  nonRetryableKinds: [],
};

/**
 * `funcs.call` of a function whose entry has a retry policy (`meta.options.retry`): attempts
 * one after another, each a process of its own, until one succeeds or the policy gives up; the
 * caller hears only the last outcome. The timeout covers all attempts; the call ends with its
 * caller, and a cancel stops the attempt running and every one to come.
 */
export class RetriedCalls {
  private readonly calls = new Map<string, RetriedCall>();
  private nextId = 0;

  constructor(private readonly host: RetriedCallHost) {}

  static owns(id: string): boolean {
    return id.startsWith(ID_PREFIX);
  }

  /**
   * Starts the call, each attempt by `spawnAttempt` (default: the host's); its ID is what the
   * caller's future cancels.
   */
  start(
    request: RetriedCallRequest,
    spawnAttempt: (request: AttemptRequest) => Attempt = (attempt) =>
      this.host.spawnAttempt(attempt),
  ): string {
    const id = `${ID_PREFIX}${++this.nextId}`;
    const { caller, channel, entry, policy } = request;
    let attempt = 0;
    let running: Attempt | undefined;
    let done = false;
    let stopRetry: (() => void) | undefined;
    const finish = (outcome: ExitOutcome) => {
      if (done) return;
      done = true;
      this.calls.delete(id);
      stopRetry?.();
      stopTimeout?.();
      caller.exitListeners.delete(endWithCaller);
      deliverOutcome(caller, channel, outcome, entry);
    };
    const stop = (error: LuactError) => {
      const callee = running;
      finish({ ok: false, error });
      callee?.stop(error);
    };
    const next = () => {
      stopRetry = undefined;
      attempt++;
      let callee: Attempt;
      try {
        callee = spawnAttempt({
          entry,
          args: request.args,
          context: request.context,
          caller,
        });
      } catch (error) {
        finish({ ok: false, error: LuactError.from(error) });
        return;
      }
      running = callee;
      callee.onEnd((outcome) => {
        running = undefined;
        if (done) return;
        const delay = outcome.ok ? undefined : retryDelay(policy, attempt, outcome.error);
        if (delay === undefined) finish(outcome);
        else stopRetry = this.host.clock.schedule(delay, next);
      });
    };
    // The call ends with its caller: it is part of the work of the process that called it.
    const endWithCaller = () => stop(new LuactError('CANCELED', 'the caller ended'));
    caller.exitListeners.add(endWithCaller);
    const stopTimeout =
      request.timeoutMs === undefined
        ? undefined
        : this.host.clock.schedule(request.timeoutMs, () =>
            stop(
              new LuactError('TIMEOUT', `call of ${entry} timed out after ${request.timeoutMs} ms`),
            ),
          );
    caller.mailbox.expectResult(channel);
    this.calls.set(id, { caller, stop });
    next();
    return id;
  }

  /** Stops call `id` of `caller`; false when it has ended or is not its call. */
  cancel(id: string, caller: Process): boolean {
    const call = this.calls.get(id);
    if (call?.caller !== caller) return false;
    call.stop(new LuactError('CANCELED', 'call canceled', { retryable: false }));
    return true;
  }
}
