import { LuactError } from '@luact/core';
import { decodeValue, decodeValues } from '@luact/lua';
import type { Envelope, ExitOutcome, Pid, ProcessSystem } from '@luact/process';
import { encodeArguments } from './arguments.js';

/** How long `Node.call` waits for a reply unless told otherwise. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export interface CallOptions {
  /** Rejects with TIMEOUT when no reply came within this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Rejects with the signal's reason (a LuactError; anything else is CANCELED). */
  readonly signal?: AbortSignal;
}

/**
 * The requests TypeScript code makes to processes (`Node.call`). Each gets a reply inbox of
 * its own, whose PID is the request's sender: the process answers with
 * `process.send(msg:from(), topic, value)`, and the first message there is the answer. The
 * inbox closes as soon as the call ends, however it ends, so a late reply is NOT_FOUND to its
 * sender and reaches nobody.
 */
export class Calls {
  /** How to end each call still waiting, with the reason why (the node stops). */
  private readonly waiting = new Set<(reason: string) => void>();
  private closedBecause: string | undefined;

  constructor(private readonly system: ProcessSystem) {}

  call(
    target: string,
    topic: string,
    payload: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    if (this.closedBecause !== undefined) {
      return Promise.reject(
        new LuactError('CANCELED', `cannot call ${target}: ${this.closedBecause}`, {
          retryable: false,
        }),
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new LuactError(
          'INVALID',
          `timeoutMs must be a number of milliseconds ≥ 0, got ${timeoutMs}`,
          {
            retryable: false,
          },
        ),
      );
    }
    let pid: Pid;
    let message: Uint8Array;
    try {
      pid = this.system.resolveDestination(target);
      message = encodeArguments([payload], `the payload of a call to ${target}`);
    } catch (error) {
      return Promise.reject(LuactError.from(error));
    }
    const about = { target, pid, topic };
    const callee = target === pid ? pid : `${target} (${pid})`;
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal, callee, topic));
    return new Promise((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      let ended = false;
      const end = (settle: () => void) => {
        if (ended) return;
        ended = true;
        for (const cleanup of cleanups) cleanup();
        settle();
      };
      const fail = (error: LuactError) => end(() => reject(error));

      const inbox = this.system.openInbox((reply) => {
        try {
          const value = firstValue(reply);
          end(() => resolve(value));
        } catch (error) {
          fail(LuactError.from(error));
        }
      });
      cleanups.push(inbox.close);
      const stop = (reason: string) =>
        fail(
          new LuactError('CANCELED', `the call of ${callee} ("${topic}") ended: ${reason}`, {
            retryable: false,
            details: about,
          }),
        );
      this.waiting.add(stop);
      cleanups.push(() => this.waiting.delete(stop));

      // A process, here or on another node: its end before replying ends the call.
      if (this.system.route(pid).kind !== 'external') {
        const watching = inbox.watch(pid, (outcome) =>
          fail(endedBeforeReply(callee, about, outcome)),
        );
        if (watching instanceof Promise) watching.catch(() => {});
      }
      cleanups.push(
        this.system.clock.schedule(timeoutMs, () =>
          fail(
            new LuactError(
              'TIMEOUT',
              `${callee} did not reply to "${topic}" within ${timeoutMs} ms`,
              { details: about },
            ),
          ),
        ),
      );
      if (signal) {
        const onAbort = () => fail(abortReason(signal, callee, topic));
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }

      const envelope: Envelope = { to: pid, from: inbox.pid, topic, payload: message };
      const delivery = this.system.send(envelope);
      if (delivery instanceof LuactError) fail(delivery);
      // A workflow journals the message before taking it.
      else delivery?.catch((error: unknown) => fail(LuactError.from(error)));
    });
  }

  /** Ends every waiting call with CANCELED for `reason`, and refuses new ones. */
  close(reason: string): void {
    this.closedBecause ??= reason;
    for (const stop of [...this.waiting]) stop(reason);
  }
}

/** The reply's first value: what `msg:payload():data()` gives the Lua side. */
function firstValue(reply: Envelope): unknown {
  return decodeValues(reply.payload)[0];
}

function endedBeforeReply(
  callee: string,
  about: Readonly<Record<string, string>>,
  outcome: ExitOutcome,
): LuactError {
  const how = outcome.ok ? 'returned' : `failed: ${outcome.error.message}`;
  return new LuactError(
    'UNAVAILABLE',
    `${callee} ended before replying to "${about.topic}": it ${how}`,
    {
      details: {
        ...about,
        exit: outcome.ok
          ? { ok: true, value: decodeValue(outcome.value) }
          : { ok: false, error: outcome.error.toData() },
      },
    },
  );
}

function abortReason(signal: AbortSignal, callee: string, topic: string): LuactError {
  return signal.reason instanceof LuactError
    ? signal.reason
    : new LuactError(
        'CANCELED',
        `the call of ${callee} ("${topic}") was stopped: ${String(signal.reason)}`,
      );
}
