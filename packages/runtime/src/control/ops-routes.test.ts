import { LuactError } from '@luact/core';
import { askNodes, connectNats, type NatsConnection, type OpsEndpoint } from '@luact/nats';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serveOps } from './ops-routes.js';

let server: NatsServerHandle;
let connection: NatsConnection;
let endpoint: OpsEndpoint;
let stopped = 0;

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connectNats({ servers: server.url }, process.cwd(), 'test');
  endpoint = serveOps(connection, 'a', {
    '/node': {
      method: 'GET',
      handle: () => ({ name: 'a', big: 2n ** 64n, seen: new Map([['x', 1]]) }),
    },
    '/workflow': {
      method: 'GET',
      handle: (input) => {
        throw new LuactError('NOT_FOUND', `no workflow ${String(input.id)}`);
      },
    },
    '/stop': {
      method: 'POST',
      handle: () => {
        stopped += 1;
        return {};
      },
    },
  });
  await connection.flush();
}, 30_000);

afterAll(async () => {
  endpoint?.close();
  await connection?.close();
  await server?.stop();
});

const ask = async (route: string, query: Record<string, string> = {}) =>
  (await askNodes(connection, ['a'], { route, query })).get('a');

it('answers the GET routes as the control socket renders them (bigints as text, maps as objects)', async () => {
  expect(await ask('/node')).toEqual({
    state: 'answered',
    value: { name: 'a', big: '18446744073709551616', seen: { x: 1 } },
  });
});

it("passes the route's query and its error on", async () => {
  const answer = await ask('/workflow', { id: 'w-1' });
  expect(answer?.state).toBe('refused');
  if (answer?.state === 'refused') {
    expect(answer.error.kind).toBe('NOT_FOUND');
    expect(answer.error.message).toBe('no workflow w-1');
  }
});

it('does not serve routes that change the node (POST) on NATS, and names those it serves', async () => {
  const answer = await ask('/stop');
  expect(answer?.state).toBe('refused');
  if (answer?.state === 'refused') {
    expect(answer.error.kind).toBe('NOT_FOUND');
    expect(answer.error.message).toBe(
      'node "a" serves no /stop on NATS; it serves /node, /workflow',
    );
  }
  expect(stopped).toBe(0);
});
