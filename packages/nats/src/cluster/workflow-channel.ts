import { type ErrorData, LuactError } from '@luact/core';
import { type NatsConnection, NoRespondersError, type Subscription } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';

/** How long one workflow request waits for the owner's answer (it answers once journaled). */
export const DEFAULT_WORKFLOW_REQUEST_TIMEOUT_MS = 10_000;

type Answer =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ErrorData };

const packr = new Packr({ useRecords: false, copyBuffers: true });

/**
 * Requests to the node that owns a workflow's partition (start, send, cancel, terminate,
 * watch): core NATS request/reply on `<subjectPrefix>.<node>`, msgpack bodies. The owner
 * answers once the operation is journaled, so an answer is an acceptance; a request that gets
 * no answer may or may not have been taken, and the caller repeats it with the same
 * idempotency key. The bodies are the caller's (plain values and byte arrays, no bigints).
 */
export class WorkflowChannel {
  private subscription: Subscription | undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly subjectPrefix: string,
    private readonly timeoutMs = DEFAULT_WORKFLOW_REQUEST_TIMEOUT_MS,
  ) {}

  /** Answers the requests other nodes send to `node` with what `handle` resolves or rejects. */
  serve(node: string, handle: (request: unknown) => Promise<unknown>): void {
    this.subscription = this.connection.subscribe(`${this.subjectPrefix}.${node}`, {
      callback: (error, message) => {
        if (error) return;
        let request: unknown;
        try {
          request = packr.unpack(message.data);
        } catch (failure) {
          message.respond(
            packr.pack(answerOf(new LuactError('INVALID', `undecodable request: ${failure}`))),
          );
          return;
        }
        void handle(request).then(
          (value) => message.respond(packr.pack({ ok: true, value } satisfies Answer)),
          (failure: unknown) => message.respond(packr.pack(answerOf(failure))),
        );
      },
    });
  }

  /**
   * Sends `request` to `node` and resolves with its answer, or rejects with the error it
   * answered; UNAVAILABLE (`details.reason` `not-running` or `timeout`) when nobody answers.
   */
  async request(node: string, request: unknown): Promise<unknown> {
    let reply: Uint8Array;
    try {
      const message = await this.connection.request(
        `${this.subjectPrefix}.${node}`,
        packr.pack(request),
        { timeout: this.timeoutMs },
      );
      reply = message.data;
    } catch (error) {
      const notRunning = error instanceof NoRespondersError || isNoResponders(error);
      throw new LuactError(
        'UNAVAILABLE',
        `workflow node "${node}" ${notRunning ? 'is not running' : `did not answer within ${this.timeoutMs} ms`}`,
        { details: { node, reason: notRunning ? 'not-running' : 'timeout' } },
      );
    }
    const answer = packr.unpack(reply) as Answer;
    if (answer.ok) return answer.value;
    throw LuactError.fromData(answer.error);
  }

  /** A value in the channel's encoding, for notices sent another way (a workflow's end by mail). */
  static encode(value: unknown): Uint8Array {
    return packr.pack(value);
  }

  static decode(bytes: Uint8Array): unknown {
    return packr.unpack(bytes);
  }

  /**
   * Stops serving. Requests already delivered to this client are still answered (drained), so
   * a caller is told to go elsewhere at once instead of waiting out its timeout.
   */
  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.drain().catch(() => {});
  }
}

function answerOf(failure: unknown): Answer {
  return { ok: false, error: LuactError.from(failure).toData() };
}

/** nats.js wraps "no responders" in a RequestError whose cause is the NoRespondersError. */
function isNoResponders(error: unknown): boolean {
  return error instanceof Error && error.cause instanceof NoRespondersError;
}
