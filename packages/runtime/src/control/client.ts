import { lstat } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { isErrorKind, LuactError } from '@luact/core';
import { DEFAULT_CONTROL_LIMITS } from './server.js';
import { currentUid, denied, directoryProblem, socketProblem } from './socket-owner.js';

/**
 * Asks the node listening on `socketPath` for `route` (e.g. `/services`) and returns the JSON
 * it answers. UNAVAILABLE when no node listens there; the node's own error otherwise. Before
 * connecting, the socket and its directory must belong to the user and the directory be
 * writable by nobody else (PERMISSION_DENIED saying whose they are): a socket someone else
 * put there would receive the request and its payload.
 */
export async function queryControl(
  socketPath: string,
  route: string,
  options: {
    readonly timeoutMs?: number;
    /** Query parameters of a GET. */
    readonly query?: Readonly<Record<string, string>>;
    /** The JSON body of a POST (given: the request is a POST). */
    readonly body?: unknown;
    /** The user who must own the socket (default: the current one). */
    readonly uid?: number;
  } = {},
): Promise<unknown> {
  await checkBeforeConnecting(socketPath, options.uid ?? currentUid());
  const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
  const method = options.body === undefined ? 'GET' : 'POST';
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  // The node would refuse it after reading the first MiB; say so without sending it.
  const size = body === undefined ? 0 : Buffer.byteLength(body);
  if (size > DEFAULT_CONTROL_LIMITS.maxBodyBytes) {
    throw new LuactError(
      'INVALID',
      `the request to ${route} is ${size} bytes, over the control endpoint's limit of ${DEFAULT_CONTROL_LIMITS.maxBodyBytes} bytes (1 MiB)`,
      { retryable: false },
    );
  }
  return new Promise((resolve, reject) => {
    const call = request(
      { socketPath, path: `${route}${query}`, method, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
            if (response.statusCode === 200) resolve(body);
            else reject(nodeError(body, response.statusCode));
          } catch (error) {
            reject(
              new LuactError('INTERNAL', `the node answered ${route} with bad JSON: ${error}`),
            );
          }
        });
      },
    );
    call.setTimeout(options.timeoutMs ?? 5_000, () =>
      call.destroy(new LuactError('TIMEOUT', `the node at ${socketPath} did not answer ${route}`)),
    );
    call.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(nobodyThere(socketPath));
      else reject(LuactError.from(error));
    });
    call.end(body);
  });
}

function nobodyThere(socketPath: string): LuactError {
  return new LuactError(
    'UNAVAILABLE',
    `no node is running there (nothing listens on ${socketPath})`,
    { retryable: false },
  );
}

async function checkBeforeConnecting(socketPath: string, uid: number): Promise<void> {
  const dir = path.dirname(path.resolve(socketPath));
  const dirStats = await lstat(dir).catch(() => undefined);
  if (!dirStats) throw nobodyThere(socketPath);
  const dirProblem = directoryProblem(dir, dirStats, 'owned', uid);
  if (dirProblem) throw denied(dirProblem);
  const stats = await lstat(socketPath).catch(() => undefined);
  if (!stats) throw nobodyThere(socketPath);
  const problem = socketProblem(socketPath, stats, uid);
  if (problem) throw denied(problem);
}

function nodeError(body: unknown, status: number | undefined): LuactError {
  const error = (body as { error?: { kind?: string; message?: string } }).error;
  return new LuactError(
    isErrorKind(error?.kind) ? error.kind : 'INTERNAL',
    error?.message ?? `the node answered with status ${status}`,
  );
}
