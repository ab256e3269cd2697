import { errorKindFromName, LuactError } from '@luact/core';
import { type Clock, decodeValue, decodeValues, encodeValue } from '@luact/lua';
import type { Pid } from './pid.js';
import type { ExitOutcome } from './transport.js';

/** A TypeScript function callable from Lua with funcs.call, like a function.lua entry. */
export type HostFunctionEntry = (call: HostCall, ...args: unknown[]) => unknown;

export interface HostCall {
  /** The calling process, if the call came from Lua. */
  readonly caller: Pid | undefined;
  /** The caller's context values. */
  readonly context: Readonly<Record<string, unknown>>;
  /**
   * Aborted when the call ends before the function does (its time limit, a cancel, the end of
   * its caller): what the function returns after that goes nowhere.
   */
  readonly signal: AbortSignal;
}

/** One run of a TypeScript function for a call. */
export interface HostFunctionRun {
  /** How the call ends: the function's value (encoded) or error, or why it was stopped. */
  readonly outcome: Promise<ExitOutcome>;
  /** Ends the call now with `error`, unless it has ended. */
  stop(error: LuactError): void;
}

export interface HostFunctionRunRequest {
  readonly entry: string;
  readonly args: Uint8Array;
  readonly context: ReadonlyMap<string, Uint8Array>;
  readonly caller: Pid | undefined;
  /** Stopped with TIMEOUT `timeout.message` after `timeout.ms`. */
  readonly timeout?: {
    readonly clock: Pick<Clock, 'schedule'>;
    readonly ms: number;
    readonly message: string;
  };
}

/**
 * Runs `fn` for a call (on a later turn: never inside the caller's step). Its value leaves
 * encoded; one that cannot be encoded (a function, a bigint past 64 bits) is the caller's
 * INVALID error naming the entry, as a function.lua's is, and never an exception of the node.
 */
export function runHostFunction(
  fn: HostFunctionEntry,
  request: HostFunctionRunRequest,
): HostFunctionRun {
  const abort = new AbortController();
  let settle: ((outcome: ExitOutcome) => void) | undefined;
  const outcome = new Promise<ExitOutcome>((resolve) => {
    settle = resolve;
  });
  let cancelTimer: (() => void) | undefined;
  const finish = (result: ExitOutcome) => {
    if (settle === undefined) return;
    settle(result);
    settle = undefined;
    cancelTimer?.();
  };
  const stop = (error: LuactError) => {
    if (settle === undefined) return;
    finish({ ok: false, error });
    abort.abort(error);
  };
  const { timeout } = request;
  if (timeout !== undefined)
    cancelTimer = timeout.clock.schedule(timeout.ms, () =>
      stop(new LuactError('TIMEOUT', timeout.message)),
    );
  Promise.resolve()
    .then(() =>
      // A call that ended before its turn came (its caller ended at once) does not run.
      abort.signal.aborted
        ? undefined
        : fn(
            { caller: request.caller, context: decoded(request.context), signal: abort.signal },
            ...decodeValues(request.args),
          ),
    )
    .then(
      (value) => finish(encodedValue(request.entry, value)),
      (error: unknown) => finish({ ok: false, error: thrownError(error) }),
    );
  return { outcome, stop };
}

/**
 * What a TypeScript function threw, as the caller's error: a LuactError as it is; an object
 * with a string `message` (and a `kind` either way it is written) as the error it describes.
 */
function thrownError(thrown: unknown): LuactError {
  if (thrown instanceof LuactError || thrown instanceof Error) return LuactError.from(thrown);
  const described = thrown as { kind?: unknown; message?: unknown } | null;
  if (typeof described?.message === 'string')
    return new LuactError(errorKindFromName(described.kind) ?? 'INTERNAL', described.message);
  return LuactError.from(thrown);
}

function encodedValue(entry: string, value: unknown): ExitOutcome {
  try {
    return { ok: true, value: encodeValue(value) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      error: new LuactError(
        'INVALID',
        `${entry} returned a value that cannot leave it: ${message}`,
        {
          retryable: false,
        },
      ),
    };
  }
}

function decoded(context: ReadonlyMap<string, Uint8Array>): Record<string, unknown> {
  // Own fields whatever their names: an assignment of "__proto__" would set the prototype.
  return Object.fromEntries(Array.from(context, ([key, value]) => [key, decodeValue(value)]));
}
