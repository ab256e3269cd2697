import { LuactError } from '@luact/core';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WorkflowChannel } from './workflow-channel.js';

let server: NatsServerHandle;
let owner: NatsConnection;
let caller: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
  owner = await connect({ servers: server.url });
  caller = await connect({ servers: server.url });
}, 30_000);

afterAll(async () => {
  await owner?.close();
  await caller?.close();
  await server?.stop();
});

it('carries a request to the node and its answer back, bytes and errors intact', async () => {
  const served = new WorkflowChannel(owner, 'test.wf');
  const seen: unknown[] = [];
  served.serve('b', async (request) => {
    seen.push(request);
    const { op, payload } = request as { op: string; payload: Uint8Array };
    if (op === 'fail')
      throw new LuactError('NOT_FOUND', 'no workflow {h|x}', {
        retryable: false,
        details: { workflow: 'x' },
      });
    return { echoed: payload, length: payload.length };
  });
  await owner.flush();
  const channel = new WorkflowChannel(caller, 'test.wf');
  const payload = new Uint8Array([1, 2, 3]);
  const answer = (await channel.request('b', { op: 'echo', payload })) as {
    echoed: Uint8Array;
    length: number;
  };
  expect([[...answer.echoed], answer.length]).toEqual([[1, 2, 3], 3]);
  expect(answer.echoed).toBeInstanceOf(Uint8Array);
  const refused = await channel
    .request('b', { op: 'fail', payload })
    .catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(LuactError);
  expect(refused).toMatchObject({
    kind: 'NOT_FOUND',
    message: 'no workflow {h|x}',
    retryable: false,
    details: { workflow: 'x' },
  });
  expect(seen).toHaveLength(2);
  await served.close();
});

it('says UNAVAILABLE, naming the node and why, when nobody serves it or it does not answer', async () => {
  const channel = new WorkflowChannel(caller, 'test.wf', 300);
  await expect(channel.request('nobody', { op: 'x' })).rejects.toMatchObject({
    kind: 'UNAVAILABLE',
    message: 'workflow node "nobody" is not running',
    details: { node: 'nobody', reason: 'not-running' },
  });
  const silent = new WorkflowChannel(owner, 'test.wf');
  silent.serve('slow', () => new Promise(() => {}));
  await owner.flush(); // the subscription is at the server before the request
  await expect(channel.request('slow', { op: 'x' })).rejects.toMatchObject({
    kind: 'UNAVAILABLE',
    message: 'workflow node "slow" did not answer within 300 ms',
    details: { node: 'slow', reason: 'timeout' },
  });
  await silent.close().catch(() => {});
});

it('encodes notices the same way', () => {
  const notice = { key: 7, outcome: { ok: true, value: new Uint8Array([0xc3]) } };
  const back = WorkflowChannel.decode(WorkflowChannel.encode(notice)) as typeof notice;
  expect(back.key).toBe(7);
  expect([back.outcome.ok, [...back.outcome.value]]).toEqual([true, [0xc3]]);
});
