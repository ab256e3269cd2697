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
  /** Per node, how to end each of this node's spawns there that still waits for its answer. */
  private readonly waiting = new Map<string, Set<() => void>>();

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
   * Spawns on `node`; UNAVAILABLE when it is not running, does not answer in time, or is
   * leaves the cluster (`nodeDown`) while the spawn waits. A node the cluster counts as a member
   * (`isMember`) that has no responder yet is asked again until the timeout: it may have joined
   * a moment before it began to serve.
   */
  async spawn(
    node: string,
    request: RemoteSpawnRequest,
    isMember: (node: string) => boolean = () => false,
  ): Promise<Pid> {
    const down = this.untilDown(node);
    try {
      return await this.ask(node, request, isMember, down.promise);
    } finally {
      down.forget();
    }
  }

  /**
   * Ends every spawn on `node` that waits for its answer (UNAVAILABLE): it left the cluster
   * (stopped, or declared down), so the answer may never come.
   */
  nodeDown(node: string): void {
    for (const end of this.waiting.get(node) ?? []) end();
  }

  private async ask(
    node: string,
    request: RemoteSpawnRequest,
    isMember: (node: string) => boolean,
    down: Promise<typeof LEFT_CLUSTER>,
  ): Promise<Pid> {
    const deadline = Date.now() + this.timeoutMs;
    const subject = `${this.subjectPrefix}.${node}`;
    const payload = packr.pack(request);
    for (;;) {
      try {
        const pending = this.connection.request(subject, payload, {
          timeout: Math.max(1, deadline - Date.now()),
        });
        // A request left behind for a node declared down ends with its own timeout.
        pending.catch(() => {});
        const message = await Promise.race([pending, down]);
        if (message === LEFT_CLUSTER) {
          throw unavailable(
            request,
            node,
            'it left the cluster (it stopped, or was declared down) while the spawn waited for its answer',
          );
        }
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
        throw unavailable(request, node, why);
      }
    }
  }

  /** A promise that settles when `node` leaves the cluster (nodeDown), until `forget` is called. */
  private untilDown(node: string): {
    readonly promise: Promise<typeof LEFT_CLUSTER>;
    forget(): void;
  } {
    let end = () => {};
    const promise = new Promise<typeof LEFT_CLUSTER>((resolve) => {
      end = () => resolve(LEFT_CLUSTER);
    });
    const ends = this.waiting.get(node) ?? new Set();
    ends.add(end);
    this.waiting.set(node, ends);
    return {
      promise,
      forget: () => {
        ends.delete(end);
        if (ends.size === 0 && this.waiting.get(node) === ends) this.waiting.delete(node);
      },
    };
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}

const LEFT_CLUSTER = Symbol('left the cluster');

function unavailable(request: RemoteSpawnRequest, node: string, why: string): LuactError {
  return new LuactError('UNAVAILABLE', `cannot spawn ${request.entry} on node "${node}": ${why}`, {
    details: { node },
  });
}

/** nats.js wraps "no responders" in a RequestError whose cause is the NoRespondersError. */
function isNoResponders(error: unknown): boolean {
  return error instanceof Error && error.cause instanceof NoRespondersError;
}
