import { type ErrorData, LuactError } from '@luact/core';
import type { Pid, RemoteSpawnRequest } from '@luact/process';
import { type NatsConnection, NoRespondersError, type Subscription } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';

/** How long a node waits for another to answer a spawn before it is UNAVAILABLE. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;
/** How often a member without a responder yet is asked again. */
const RETRY_MS = 100;

type Answer =
  | { readonly ok: true; readonly pid: Pid }
  | { readonly ok: false; readonly error: ErrorData };

const packr = new Packr({ useRecords: false, copyBuffers: true });

const spawned = (pid: Pid): Answer => ({ ok: true, pid });
const refused = (failure: unknown): Answer => ({
  ok: false,
  error: LuactError.from(failure).toData(),
});

/**
 * Requests that need an answer from another node (a spawn, which answers the PID): core NATS
 * request/reply on `<prefix>.<node>`. Not journaled: a request whose node does not answer in
 * time is UNAVAILABLE, and the caller decides whether to try again.
 */
export class ControlChannel {
  private subscription: Subscription | undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly subjectPrefix: string,
    private readonly timeoutMs = DEFAULT_CONTROL_TIMEOUT_MS,
  ) {}

  /** Answers the spawn requests other nodes send to `node` with `spawn`. */
  serve(node: string, spawn: (request: RemoteSpawnRequest) => Pid | Promise<Pid>): void {
    this.subscription = this.connection.subscribe(`${this.subjectPrefix}.${node}`, {
      callback: (error, message) => {
        if (error) return;
        let answer: Answer | Promise<Answer>;
        try {
          const pid = spawn(packr.unpack(message.data) as RemoteSpawnRequest);
          // A spawn that wins a cluster name first answers once the cluster decided.
          answer = typeof pid === 'string' ? { ok: true, pid } : pid.then(spawned, refused);
        } catch (failure) {
          answer = refused(failure);
        }
        if (answer instanceof Promise) {
          void answer.then((settled) => message.respond(packr.pack(settled)));
          return;
        }
        message.respond(packr.pack(answer));
      },
    });
  }

  /**
   * Spawns on `node`; UNAVAILABLE when it is not running or does not answer in time. A node the
   * cluster counts as a member (`isMember`) that has no responder yet is asked again until the
   * timeout: it may have joined a moment before it began to serve.
   */
  async spawn(
    node: string,
    request: RemoteSpawnRequest,
    isMember: (node: string) => boolean = () => false,
  ): Promise<Pid> {
    const deadline = Date.now() + this.timeoutMs;
    const subject = `${this.subjectPrefix}.${node}`;
    const payload = packr.pack(request);
    for (;;) {
      try {
        const message = await this.connection.request(subject, payload, {
          timeout: Math.max(1, deadline - Date.now()),
        });
        const answer = packr.unpack(message.data) as Answer;
        if (answer.ok) return answer.pid;
        throw LuactError.fromData(answer.error);
      } catch (error) {
        if (error instanceof LuactError) throw error;
        const noResponders = error instanceof NoRespondersError || isNoResponders(error);
        if (noResponders && isMember(node) && Date.now() + RETRY_MS < deadline) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          continue;
        }
        const why = noResponders
          ? 'it is not running'
          : `it did not answer within ${this.timeoutMs} ms`;
        throw new LuactError(
          'UNAVAILABLE',
          `cannot spawn ${request.entry} on node "${node}": ${why}`,
          {
            details: { node },
          },
        );
      }
    }
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}

/** nats.js wraps "no responders" in a RequestError whose cause is the NoRespondersError. */
function isNoResponders(error: unknown): boolean {
  return error instanceof Error && error.cause instanceof NoRespondersError;
}
