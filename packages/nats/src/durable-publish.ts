import { LuactError } from '@luact/core';
import { JetStreamApiError, type PubAck, type StreamExpectations } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  type MsgHdrs,
  NoRespondersError,
  headers as newHeaders,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';

export interface DurablePublishOptions {
  /**
   * The message ID (`Nats-Msg-Id`). Every attempt carries it, so JetStream stores the message
   * once however many attempts reach it inside the stream's duplicate window.
   */
  readonly msgID: string;
  /** Headers of the message, sent unchanged with every attempt (the caller's object is not modified). */
  readonly headers?: MsgHdrs;
  /** JetStream expectations (`lastSubjectSequence`, …), the same on every attempt. */
  readonly expect?: Partial<StreamExpectations>;
  /**
   * How long to keep trying while the outcome is unknown, in milliseconds. Default 15 s, at
   * most 60 s: retries must land well inside JetStream's duplicate window (2 minutes by
   * default), or a retry of a stored message would be stored again.
   */
  readonly budgetMs?: number;
  /** How long one attempt waits for its acknowledgement. Default 2 s, never past the budget. */
  readonly attemptTimeoutMs?: number;
  /** Aborting stops the retries; the publish then fails CANCELED (its outcome unknown). */
  readonly signal?: AbortSignal;
}

/** What one attempt is sent with: a fresh copy of the caller's headers each time. */
export interface PublishAttemptOptions {
  readonly msgID: string;
  readonly timeout: number;
  readonly headers: MsgHdrs;
  readonly expect?: Partial<StreamExpectations>;
}

/**
 * Makes one publish attempt and resolves with JetStream's acknowledgement: the JetStream
 * client (`js.publish`), or anything that fails the way it does (ReplyInbox).
 */
export interface PublishAttempt {
  publish(
    subject: string,
    payload: Uint8Array | string | undefined,
    options: PublishAttemptOptions,
  ): Promise<PubAck>;
}

export const DEFAULT_PUBLISH_BUDGET_MS = 15_000;
const MAX_BUDGET_MS = 60_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 2_000;
/** Waits between attempts that failed at once (no responders, 503): doubling up to the last. */
const FIRST_PAUSE_MS = 50;
const MAX_PAUSE_MS = 1_000;

/**
 * Publishes to JetStream until the message is acknowledged. The NATS client tries once and
 * forgets bytes queued while it was disconnected, so an attempt that gets no answer (timeout,
 * no responders during a leader election, a 503, a dropped connection) has an unknown outcome:
 * it is repeated with the same message ID, headers and expectations until JetStream answers or
 * the budget runs out. A repeat of a message that was stored answers with the original ack
 * (`duplicate: true`): JetStream checks the message ID before expectations.
 *
 * Out of budget, the publish fails UNAVAILABLE naming the subject and the time waited (the last
 * failure is its `cause`). An answer that is a refusal (wrong last sequence 10071, stream not
 * found, message too large, permissions, …) is thrown at once as the client raised it, so the
 * caller can recognize it (e.g. `isWrongLastSequence`) or map it (`natsFailure`). A closed
 * connection fails UNAVAILABLE at once: nothing could answer a retry.
 */
export async function publishDurably(
  js: PublishAttempt,
  subject: string,
  payload: Uint8Array | string | undefined,
  options: DurablePublishOptions,
): Promise<PubAck> {
  const budgetMs = checkMs(
    'budgetMs',
    options.budgetMs ?? DEFAULT_PUBLISH_BUDGET_MS,
    MAX_BUDGET_MS,
  );
  const attemptTimeoutMs = checkMs(
    'attemptTimeoutMs',
    options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    MAX_BUDGET_MS,
  );
  if (options.msgID === '') {
    throw new LuactError('INVALID', `publishDurably to ${subject}: msgID must not be empty`);
  }
  const { signal } = options;
  const started = Date.now();
  let pauseMs = FIRST_PAUSE_MS;
  let attempts = 0;
  let lastFailure: unknown;
  for (;;) {
    throwIfAborted(signal, subject, started, attempts);
    const left = budgetMs - (Date.now() - started);
    if (left <= 0) throw outOfBudget(subject, started, attempts, lastFailure);
    attempts += 1;
    try {
      return await abortable(
        js.publish(subject, payload, {
          msgID: options.msgID,
          timeout: Math.max(1, Math.min(attemptTimeoutMs, left)),
          // The client writes Nats-Msg-Id and the expectations into the headers it is given.
          headers: copyHeaders(options.headers),
          ...(options.expect === undefined ? {} : { expect: options.expect }),
        }),
        signal,
      );
    } catch (error) {
      if (error === ABORTED) throw canceled(subject, started, attempts);
      const outcome = classify(error);
      if (outcome === 'answer') throw error;
      if (outcome === 'closed') {
        throw new LuactError(
          'UNAVAILABLE',
          `publish to ${subject} failed: the NATS connection is closed`,
          { retryable: true, details: { subject, attempts }, cause: error },
        );
      }
      lastFailure = error;
      if (outcome === 'quick') {
        // The server answered at once that nobody can take the message yet: wait a little.
        const pause = Math.min(pauseMs, budgetMs - (Date.now() - started));
        pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
        if (pause > 0) await sleep(pause, signal);
      }
    }
  }
}

/**
 * What a failed attempt says: `answer` — JetStream decided (not retried); `slow` — no answer
 * in time; `quick` — refused at once by nobody being there to decide; `closed` — never again.
 */
type AttemptOutcome = 'answer' | 'slow' | 'quick' | 'closed';

function classify(error: unknown): AttemptOutcome {
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) {
    return 'closed';
  }
  if (error instanceof TimeoutError) return 'slow';
  if (error instanceof RequestError) {
    // No permission to publish there is an answer; anything else cut the request short.
    return error.cause instanceof PermissionViolationError ? 'answer' : 'quick';
  }
  if (error instanceof NoRespondersError || error instanceof ConnectionError) return 'quick';
  // The client turns a 503 "no responders" into JetStreamNotEnabled.
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') return 'quick';
  // 503 answers (e.g. 10008 "JetStream cluster not available") mean "not now", not "no".
  if (error instanceof JetStreamApiError && error.status === 503) return 'quick';
  return 'answer';
}

function copyHeaders(from: MsgHdrs | undefined): MsgHdrs {
  const copy = newHeaders();
  if (from === undefined) return copy;
  for (const key of from.keys()) {
    for (const value of from.values(key)) copy.append(key, value);
  }
  return copy;
}

function outOfBudget(
  subject: string,
  started: number,
  attempts: number,
  lastFailure: unknown,
): LuactError {
  const waitedMs = Date.now() - started;
  const reason = lastFailure instanceof Error ? `: ${lastFailure.message}` : '';
  return new LuactError(
    'UNAVAILABLE',
    `publish to ${subject} not acknowledged by JetStream after ${seconds(waitedMs)} (${attempts} attempt${attempts === 1 ? '' : 's'}${reason})`,
    { retryable: true, details: { subject, waitedMs, attempts }, cause: lastFailure },
  );
}

function canceled(subject: string, started: number, attempts: number): LuactError {
  const waitedMs = Date.now() - started;
  return new LuactError(
    'CANCELED',
    `publish to ${subject} canceled after ${seconds(waitedMs)} (${attempts} attempt${attempts === 1 ? '' : 's'}); it may or may not have been stored`,
    { details: { subject, waitedMs, attempts } },
  );
}

function throwIfAborted(
  signal: AbortSignal | undefined,
  subject: string,
  started: number,
  attempts: number,
): void {
  if (signal?.aborted) throw canceled(subject, started, attempts);
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}

function checkMs(name: string, value: number, max: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new LuactError(
      'INVALID',
      `publishDurably: ${name} must be a number of milliseconds above 0 and at most ${max}, got ${value}`,
    );
  }
  return value;
}

const ABORTED = Symbol('aborted');

/** The attempt's promise, or ABORTED as soon as the signal fires (the attempt itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
