import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { LuactError } from '@luact/core';

/** One operation of the control endpoint. */
export interface ControlRoute {
  readonly method: 'GET' | 'POST';
  /** Gets the query parameters (GET) or the JSON body (POST); returns the JSON answer. */
  handle(input: Readonly<Record<string, unknown>>): unknown;
}

/** Operations by path: `/services` → the current list of services, … */
export type ControlRoutes = Readonly<Record<string, ControlRoute>>;

/** HTTP status of an error kind. */
const STATUS: Partial<Record<string, number>> = {
  NOT_FOUND: 404,
  INVALID: 400,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/**
 * The control endpoint of a running node: HTTP/1.1 over a Unix socket that only its owner may
 * open, answering with JSON. Errors are `{"error": {kind, message}}` with a matching status.
 */
export class ControlServer {
  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
  ) {}

  /**
   * Listens on `socketPath`. A socket left behind by a node that died is replaced; one that a
   * live node answers on is ALREADY_EXISTS.
   */
  static async listen(socketPath: string, routes: ControlRoutes): Promise<ControlServer> {
    const server = createServer((request, response) => {
      void answer(routes, request).then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(`${JSON.stringify(body, jsonSafe)}\n`);
      });
    });
    try {
      await listenOn(server, socketPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      if (await answers(socketPath)) {
        throw new LuactError('ALREADY_EXISTS', `a running node already serves ${socketPath}`, {
          retryable: false,
        });
      }
      await unlink(socketPath);
      await listenOn(server, socketPath);
    }
    await chmod(socketPath, 0o600);
    return new ControlServer(socketPath, server);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function errorBody(kind: string, message: string) {
  return { error: { kind, message } };
}

async function answer(
  routes: ControlRoutes,
  request: IncomingMessage,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(request.url ?? '/', 'http://node');
  const route = routes[url.pathname];
  if (!route) {
    return {
      status: 404,
      body: errorBody('NOT_FOUND', `no ${url.pathname}; try ${Object.keys(routes).join(', ')}`),
    };
  }
  if (request.method !== route.method) {
    return {
      status: 405,
      body: errorBody('INVALID', `${url.pathname} takes ${route.method}, not ${request.method}`),
    };
  }
  try {
    const input =
      route.method === 'GET' ? Object.fromEntries(url.searchParams) : await jsonBody(request);
    return { status: 200, body: (await route.handle(input)) ?? null };
  } catch (error) {
    const failure = LuactError.from(error);
    return { status: STATUS[failure.kind] ?? 500, body: errorBody(failure.kind, failure.message) };
  }
}

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new LuactError('INVALID', 'the request body must be a JSON object', { retryable: false });
}

/** Bigints and bytes have no JSON form of their own. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

function listenOn(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    server.once('error', fail);
    server.listen(socketPath, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** Whether something accepts connections on the socket (a live node, not a leftover file). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
