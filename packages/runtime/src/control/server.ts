import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { LuactError } from '@luact/core';

/** Read-only views by path: `/services` → the current list of services, … */
export type ControlRoutes = Readonly<Record<string, () => unknown>>;

/**
 * The control endpoint of a running node: HTTP/1.1 over a Unix socket that only its owner may
 * open, answering GET requests with JSON. Errors are `{"error": {kind, message}}`.
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
      const respond = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(`${JSON.stringify(body)}\n`);
      };
      const route = routes[new URL(request.url ?? '/', 'http://node').pathname];
      if (request.method !== 'GET') {
        respond(405, errorBody('INVALID', `${request.method} is not supported; use GET`));
      } else if (!route) {
        respond(
          404,
          errorBody('NOT_FOUND', `no ${request.url}; try ${Object.keys(routes).join(', ')}`),
        );
      } else {
        try {
          respond(200, route());
        } catch (error) {
          respond(500, errorBody('INTERNAL', LuactError.from(error).message));
        }
      }
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
