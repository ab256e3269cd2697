import { LuactError } from '@luact/core';
import type { Pid, RemoteSpawnRequest } from '@luact/process';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ControlChannel } from './control.js';

// Spawn requests between two channels on one server, as two nodes' control channels would be.

let server: NatsServerHandle;
let connection: NatsConnection;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connect({ servers: server.url });
}, 30_000);

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

const REQUEST: RemoteSpawnRequest = {
  entry: 'app:child',
  host: 'app:processes',
  args: new Uint8Array(),
};
const PID = '{b~1@app:processes|1}' as Pid;

function channel(timeoutMs?: number): ControlChannel {
  const made = new ControlChannel(connection, 'test.ctl', timeoutMs);
  cleanups.push(() => made.close());
  return made;
}

/** A node that takes spawn requests and never answers (its answer lost on the way). */
function silentNode(node: string): () => number {
  let requests = 0;
  const subscription = connection.subscribe(`test.ctl.${node}`, {
    callback: () => {
      requests += 1;
    },
  });
  cleanups.push(() => subscription.unsubscribe());
  return () => requests;
}

async function failure(promise: Promise<unknown>): Promise<LuactError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LuactError);
  return error as LuactError;
}

it('answers a spawn with the PID, and a refusal with its own error', async () => {
  channel().serve('b', (request) => {
    if (request.entry === 'app:missing') throw new LuactError('NOT_FOUND', 'no app:missing');
    return PID;
  });
  await connection.flush();
  expect(await channel().spawn('b', REQUEST)).toBe(PID);
  const refused = await failure(channel().spawn('b', { ...REQUEST, entry: 'app:missing' }));
  expect(refused.kind).toBe('NOT_FOUND');
  expect(refused.message).toBe('no app:missing');
});

it('fails at once on a node nobody serves, and asks a member again until it serves', async () => {
  const notRunning = await failure(channel().spawn('c', REQUEST));
  expect(notRunning.kind).toBe('UNAVAILABLE');
  expect(notRunning.message).toBe('cannot spawn app:child on node "c": it is not running');

  const serving = channel();
  setTimeout(() => serving.serve('d', () => PID), 300);
  expect(await channel(60_000).spawn('d', REQUEST, (node) => node === 'd')).toBe(PID);
});

it('fails a spawn whose node never answers after its timeout', async () => {
  const requests = silentNode('e');
  await connection.flush();
  const error = await failure(channel(300).spawn('e', REQUEST, () => true));
  expect(error.kind).toBe('UNAVAILABLE');
  expect(error.message).toBe('cannot spawn app:child on node "e": it did not answer within 300 ms');
  expect(requests()).toBe(1);
});

it('ends the spawns waiting for a node once it is declared down, and only those', async () => {
  const requestsToF = silentNode('f');
  const requestsToG = silentNode('g');
  await connection.flush();
  const control = channel(60_000);
  const toF = failure(control.spawn('f', REQUEST, () => true));
  const toG = control
    .spawn('g', REQUEST, () => true)
    .then(
      () => 'answered',
      (error: unknown) => error,
    );
  while (requestsToF() === 0 || requestsToG() === 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  control.nodeDown('f');
  const error = await toF;
  expect(error.kind).toBe('UNAVAILABLE');
  expect(error.message).toBe(
    'cannot spawn app:child on node "f": it left the cluster (it stopped, or was declared down) while the spawn waited for its answer',
  );
  const stillWaiting = new Promise((resolve) => setTimeout(() => resolve('waiting'), 200));
  expect(await Promise.race([toG, stillWaiting])).toBe('waiting');
  control.nodeDown('g');
  expect(await toG).toMatchObject({ kind: 'UNAVAILABLE' });
});
