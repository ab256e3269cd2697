import { LuactError } from '@luact/core';
import { type NatsConnection, OpsEndpoint } from '@luact/nats';
import { toJsonText } from './json.js';
import type { ControlRoute, ControlRoutes } from './server.js';

/**
 * Serves the read-only routes of a node's control endpoint (its GET routes: `/node`,
 * `/processes`, `/services`, the workflow lists) on NATS as `node`'s operations endpoint, so
 * `luact ps --nats` and friends reach it from anywhere. Routes that change things (`/stop`,
 * workflow start, signal, cancel, terminate) stay on the Unix socket, which only the node's
 * user can open.
 */
export function serveOps(connection: NatsConnection, node: string, routes: ControlRoutes) {
  const readable: Record<string, ControlRoute> = Object.fromEntries(
    Object.entries(routes).filter(([, route]) => route.method === 'GET'),
  );
  return OpsEndpoint.serve(connection, node, async ({ route, query }) => {
    const found = readable[route];
    if (!found) {
      throw new LuactError(
        'NOT_FOUND',
        `node "${node}" serves no ${route} on NATS; it serves ${Object.keys(readable).join(', ')}`,
        { retryable: false },
      );
    }
    return toJsonText((await found.handle(query)) ?? null);
  });
}
