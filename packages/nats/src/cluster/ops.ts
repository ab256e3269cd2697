/**
 * A node's operations endpoint on NATS: the read-only views its control socket serves
 * (`/node`, `/processes`, `/services`, workflow lists), asked by core request/reply on
 * `<prefix>.ops.<node>` so that `luact ps --nats` reaches every node of a cluster from anywhere.
 * Requests and answers are JSON, so any NATS client can ask too.
 */
import { type ErrorData, LuactError } from '@luact/core';
import {
  type Msg,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
} from '@nats-io/transport-node';

/** How long an asker waits for each node before listing it as not answering. */
export const DEFAULT_OPS_TIMEOUT_MS = 3_000;

/** One question to a node: a route of its control endpoint and the route's query parameters. */
export interface OpsRequest {
  readonly route: string;
  readonly query: Readonly<Record<string, string>>;
}

/**
 * Answers a request with the JSON text of the answer (the node renders it, so values from Lua
 * keep the form the control socket gives them); throws a LuactError to refuse it.
 */
export type OpsHandler = (request: OpsRequest) => Promise<string> | string;

/** What one node made of a request. */
export type NodeAnswer =
  | { readonly state: 'answered'; readonly value: unknown }
  /** The node answered with an error (an unknown route, a workflow it does not know, …). */
  | { readonly state: 'refused'; readonly error: LuactError }
  /** Nothing came back in time, or nobody listens for the node. */
  | { readonly state: 'silent'; readonly reason: string };

/** The subject a node's operations endpoint listens on. */
export function opsSubject(prefix: string, node: string): string {
  return `${prefix}.ops.${node}`;
}

/** Room kept under the server's max payload for the answer's envelope. */
const ENVELOPE_ROOM = 256;

/**
 * Serves `node`'s operations endpoint until `close`. A request that is not a JSON object with a
 * `route` is refused as INVALID; an answer larger than the server's max payload is refused
 * naming both sizes (the node's control socket has no such limit).
 */
export class OpsEndpoint {
  private constructor(private readonly subscription: Subscription) {}

  static serve(
    connection: NatsConnection,
    node: string,
    handle: OpsHandler,
    prefix = 'luact',
  ): OpsEndpoint {
    const subject = opsSubject(prefix, node);
    const subscription = connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) return;
        void answer(connection, message, handle);
      },
    });
    return new OpsEndpoint(subscription);
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

async function answer(connection: NatsConnection, message: Msg, handle: OpsHandler) {
  let reply: string;
  try {
    const request = parseRequest(message.data);
    const text = await handle(request);
    reply = `{"ok":true,"value":${text}}`;
    const limit = (connection.info?.max_payload ?? Number.POSITIVE_INFINITY) - ENVELOPE_ROOM;
    const size = Buffer.byteLength(reply);
    if (size > limit) {
      throw new LuactError(
        'INVALID',
        `the answer to ${request.route} is ${size} bytes, over what NATS carries here (${limit} bytes); ask this node on its control socket instead`,
        { retryable: false },
      );
    }
  } catch (error) {
    reply = JSON.stringify({ ok: false, error: LuactError.from(error).toData() });
  }
  // The asker may have given up and gone; nothing to do then.
  try {
    message.respond(reply);
  } catch {}
}

function parseRequest(data: Uint8Array): OpsRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw invalidRequest('it is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidRequest('it is not a JSON object');
  const { route, query = {} } = parsed as { route?: unknown; query?: unknown };
  if (typeof route !== 'string' || !route.startsWith('/'))
    throw invalidRequest('"route" must be a path such as /processes');
  if (
    typeof query !== 'object' ||
    query === null ||
    Array.isArray(query) ||
    Object.values(query).some((value) => typeof value !== 'string')
  )
    throw invalidRequest('"query" must be an object of strings');
  return { route, query: query as Record<string, string> };
}

function invalidRequest(why: string): LuactError {
  return new LuactError(
    'INVALID',
    `an operations request must be {"route": "/…", "query": {…}}: ${why}`,
    { retryable: false },
  );
}

/**
 * Asks every node in `nodes` the same question at once and returns each one's answer, keyed by
 * node in the order given. A node that does not answer within `timeoutMs` is `silent`; so is
 * one nobody listens for (at once: NATS says there are no responders).
 */
export async function askNodes(
  connection: NatsConnection,
  nodes: readonly string[],
  request: OpsRequest,
  options: { readonly prefix?: string; readonly timeoutMs?: number } = {},
): Promise<ReadonlyMap<string, NodeAnswer>> {
  const { prefix = 'luact', timeoutMs = DEFAULT_OPS_TIMEOUT_MS } = options;
  const body = JSON.stringify({ route: request.route, query: request.query });
  const answers = await Promise.all(
    nodes.map(async (node): Promise<NodeAnswer> => {
      let data: Uint8Array;
      try {
        const reply = await connection.request(opsSubject(prefix, node), body, {
          timeout: timeoutMs,
        });
        data = reply.data;
      } catch (error) {
        return {
          state: 'silent',
          reason: isNoResponders(error)
            ? 'nothing listens for it'
            : `no answer within ${timeoutMs} ms`,
        };
      }
      return decodeAnswer(data, node);
    }),
  );
  return new Map(nodes.map((node, i) => [node, answers[i] as NodeAnswer]));
}

function decodeAnswer(data: Uint8Array, node: string): NodeAnswer {
  try {
    const reply = JSON.parse(Buffer.from(data).toString('utf8')) as
      | { ok: true; value: unknown }
      | { ok: false; error: ErrorData };
    if (reply.ok === true) return { state: 'answered', value: reply.value };
    if (reply.ok === false) return { state: 'refused', error: LuactError.fromData(reply.error) };
  } catch {
    // not JSON: below
  }
  return {
    state: 'refused',
    error: new LuactError(
      'INTERNAL',
      `node "${node}" answered with something that is not an operations answer`,
    ),
  };
}

/** nats.js wraps "no responders" in a RequestError whose cause is the NoRespondersError. */
function isNoResponders(error: unknown): boolean {
  return (
    error instanceof NoRespondersError ||
    (error instanceof Error && error.cause instanceof NoRespondersError)
  );
}
