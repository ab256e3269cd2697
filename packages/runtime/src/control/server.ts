import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { toJsonText } from './json.js';
import {
  checkSocketDirectory,
  currentUid,
  denied,
  fileKind,
  socketProblem,
} from './socket-owner.js';

/** One operation of the control endpoint. */
export interface ControlRoute {
  readonly method: 'GET' | 'POST';
  /** Gets the query parameters (GET) or the JSON body (POST); returns the JSON answer. */
  handle(input: Readonly<Record<string, unknown>>): unknown;
}

/** Operations by path: `/services` → the current list of services, … */
export type ControlRoutes = Readonly<Record<string, ControlRoute>>;

/** What one client may ask of the endpoint, so none can exhaust the node that serves it. */
export interface ControlLimits {
  /** The largest request body read; a larger one is refused with 413 and never read whole. */
  readonly maxBodyBytes: number;
  /** The largest request line and headers together; larger is 431. */
  readonly maxHeaderBytes: number;
  /** Time a client has to send its request line and headers. */
  readonly headersTimeoutMs: number;
  /** Time a client has to send its whole request. */
  readonly requestTimeoutMs: number;
  /** Connections served at once; more are closed as they come. */
  readonly maxConnections: number;
}

export const DEFAULT_CONTROL_LIMITS: ControlLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 128,
};

export interface ControlServerOptions {
  readonly limits?: Partial<ControlLimits>;
  /** The user who must own the socket's directory (default: the current one). */
  readonly uid?: number;
}

/** HTTP status of an error kind. */
const STATUS: Partial<Record<string, number>> = {
  NOT_FOUND: 404,
  INVALID: 400,
  PERMISSION_DENIED: 403,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/** How to answer a request Node's HTTP parser refuses, by its error code (else 400). */
const PARSER_REFUSALS: Partial<Record<string, Refusal>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    kind: 'INVALID',
    message: 'the request line and headers are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    kind: 'TIMEOUT',
    message: 'the request took too long to arrive',
  },
};

interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly kind: string;
  readonly message: string;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The control endpoint of a running node: HTTP/1.1 over a Unix socket that only its owner may
 * open, answering with JSON. Errors are `{"error": {kind, message}}` with a matching status.
 * Whatever a client sends, the node lives: a request that cannot be parsed is 400, one too
 * large 413 or 431, one too slow 408, and a failing handler 500.
 */
export class ControlServer {
  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
  ) {}

  /**
   * Listens on `socketPath` (mode 0600), in a directory that must belong to the user and be
   * writable by nobody else. A socket a dead node left behind is replaced; one a live node
   * answers on is ALREADY_EXISTS; anything else at that path (a file, a directory, another
   * user's socket) is refused and left as it is.
   */
  static async listen(
    socketPath: string,
    routes: ControlRoutes,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    const limits = { ...DEFAULT_CONTROL_LIMITS, ...options.limits };
    const uid = options.uid ?? currentUid();
    await checkDirectory(path.dirname(socketPath), uid);
    const server = createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // How often those two are enforced (default 30 s).
        connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      },
      (request, response) => serve(routes, limits, request, response),
    );
    server.maxConnections = limits.maxConnections;
    server.on('clientError', refuseUnparsable);
    // CONNECT would otherwise be dropped without a word.
    server.on('connect', (request: IncomingMessage, socket: Socket) =>
      endWith(socket, {
        status: 405,
        reason: 'Method Not Allowed',
        kind: 'INVALID',
        message: `${request.method} is not served here`,
      }),
    );
    try {
      await listenOn(server, socketPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      await removeStaleSocket(socketPath, uid);
      await listenOn(server, socketPath);
    }
    await chmod(socketPath, 0o600);
    // Failures after start (a refused accept when out of descriptors) must not end the node.
    server.on('error', () => {});
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

/** Answers one request; nothing a handler or a client does escapes as an uncaught error. */
function serve(
  routes: ControlRoutes,
  limits: ControlLimits,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  answer(routes, limits, request)
    .catch(
      (error: unknown): Answer => ({
        status: 500,
        body: errorBody('INTERNAL', LuactError.from(error).message),
      }),
    )
    .then((result) => send(request, response, result, limits));
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  result: Answer,
  limits: ControlLimits,
): void {
  if (response.headersSent || response.destroyed) return;
  let text: string;
  let status = result.status;
  try {
    text = `${toJsonText(result.body)}\n`;
  } catch (error) {
    status = 500;
    text = `${JSON.stringify(errorBody('INTERNAL', `the answer has no JSON form: ${LuactError.from(error).message}`))}\n`;
  }
  const unread = !request.complete;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text, () => {
    if (unread) dropRestAndClose(request, limits.maxBodyBytes);
  });
}

/**
 * Ends a connection whose request body was left unread (refused, or sent where none is
 * taken). Cut at once, a client still sending would fail writing (EPIPE) before it reads the
 * answer; so up to `limit` more bytes are read and dropped, for at most a second, and then the
 * connection is closed rather than drained for another request.
 */
function dropRestAndClose(request: IncomingMessage, limit: number): void {
  const socket = request.socket;
  const close = () => socket.destroy();
  const timer = setTimeout(close, 1_000);
  socket.once('close', () => clearTimeout(timer));
  let dropped = 0;
  request.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) close();
  });
  request.once('end', close);
  request.resume();
}

async function answer(
  routes: ControlRoutes,
  limits: ControlLimits,
  request: IncomingMessage,
): Promise<Answer> {
  const url = parseTarget(request.url ?? '/');
  if (!url) {
    return {
      status: 400,
      body: errorBody('INVALID', `the request target ${JSON.stringify(request.url)} is not a path`),
    };
  }
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
  let input: Record<string, unknown>;
  if (route.method === 'GET') input = Object.fromEntries(url.searchParams);
  else {
    const body = await readBody(request, limits.maxBodyBytes);
    if (!body.ok) {
      return {
        status: 413,
        body: errorBody(
          'INVALID',
          `the request body is larger than the limit of ${byteText(limits.maxBodyBytes)}`,
        ),
      };
    }
    const parsed = jsonObject(body.text);
    if (!parsed) {
      return {
        status: 400,
        body: errorBody('INVALID', 'the request body must be a JSON object'),
      };
    }
    input = parsed;
  }
  try {
    return { status: 200, body: (await route.handle(input)) ?? null };
  } catch (error) {
    const failure = LuactError.from(error);
    return { status: STATUS[failure.kind] ?? 500, body: errorBody(failure.kind, failure.message) };
  }
}

function parseTarget(target: string): URL | undefined {
  try {
    return new URL(target, 'http://node');
  } catch {
    return undefined;
  }
}

/**
 * The body as text, read only up to `limit` bytes: one announced larger is refused without
 * reading any of it, one that grows past the limit as soon as it does.
 */
function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<{ ok: true; text: string } | { ok: false }> {
  if (Number(request.headers['content-length'] ?? 0) > limit) {
    return Promise.resolve({ ok: false });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        request.pause();
        resolve({ ok: false });
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    request.once('error', reject);
  });
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // not JSON: undefined below
  }
  return undefined;
}

/**
 * A request Node's HTTP parser refused (bad request line, bytes that are not HTTP, headers too
 * large, too slow): a JSON error, and the connection ends.
 */
function refuseUnparsable(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  endWith(
    socket,
    PARSER_REFUSALS[error.code ?? ''] ?? {
      status: 400,
      reason: 'Bad Request',
      kind: 'INVALID',
      message: `the request is not valid HTTP/1.1 (${error.code ?? error.message})`,
    },
  );
}

/** Answers on a bare connection, outside the HTTP server's request handling, and ends it. */
function endWith(socket: Socket, { status, reason, kind, message }: Refusal): void {
  const body = `${JSON.stringify(errorBody(kind, message))}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function byteText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

async function checkDirectory(dir: string, uid: number): Promise<void> {
  try {
    await checkSocketDirectory(dir, 'owned', uid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new LuactError('NOT_FOUND', `the control socket's directory ${dir} does not exist`, {
        retryable: false,
      });
    throw error;
  }
}

/**
 * Unlinks what is at `socketPath` only if it is a socket of the user's that nobody answers on
 * (a node that died); anything else is an error that names it.
 */
async function removeStaleSocket(socketPath: string, uid: number): Promise<void> {
  const stats = await lstat(socketPath);
  if (!stats.isSocket()) {
    throw new LuactError(
      'ALREADY_EXISTS',
      `${socketPath} exists and is not a socket (${fileKind(stats)}); refusing to replace it: remove it yourself or name another path with --control`,
      { retryable: false },
    );
  }
  const problem = socketProblem(socketPath, stats, uid);
  if (problem) throw denied(problem);
  if (await answers(socketPath)) {
    throw new LuactError('ALREADY_EXISTS', `a running node already serves ${socketPath}`, {
      retryable: false,
    });
  }
  await unlink(socketPath);
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
