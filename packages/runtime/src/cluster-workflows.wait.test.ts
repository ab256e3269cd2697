import { LuactError } from '@luact/core';
import { type NatsConnection, type View, WorkflowChannel } from '@luact/nats';
import type { ProcessSystem } from '@luact/process';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterWorkflows } from './cluster-workflows.js';

// How long an operation waits for a workflow's owner, against a real NATS server; the view is
// given by hand (a membership that never changes), so the owner is whoever the test says.

let server: NatsServerHandle;
let connection: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
  connection = await connect({ servers: server.url });
}, 30_000);

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

function workflowsWith(
  owner: { node: string; incarnation: number } | undefined,
  ownerWaitMs = 1_000,
) {
  const view: View = {
    version: 3,
    partitions: 4,
    members: { a: { incarnation: 1, queues: ['app:flows'] } },
    owners: owner ? { 'app:flows': [0, 1, 2, 3].map(() => ({ ...owner, epoch: 3 })) } : {},
    changes: [],
  };
  return new ClusterWorkflows({
    identity: { node: 'a', incarnation: 1 },
    membership: { view, fenced: false, onView: () => () => {}, onFence: () => () => {} },
    channel: new WorkflowChannel(connection, 'test.wf', 200),
    system: {} as ProcessSystem,
    ownerWaitMs,
  });
}

it('tries again while the owner does not answer, then fails UNAVAILABLE naming the workflow', async () => {
  for (const owner of [{ node: 'gone', incarnation: 2 }, undefined]) {
    const workflows = workflowsWith(owner);
    let ranHere = false;
    const started = Date.now();
    const error = await workflows
      .toOwner('app:flows', 'order-7', { op: 'history' }, async () => {
        ranHere = true;
      })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(LuactError);
    expect(error).toMatchObject({
      kind: 'UNAVAILABLE',
      message: expect.stringMatching(
        /^workflow order-7 of app:flows: no node took the request within 1000 ms \(partition \d is moving or its owner is unreachable\): /,
      ),
      details: { host: 'app:flows', workflow: 'order-7' },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(ranHere).toBe(false);
  }
});

it('does not run an operation here for a partition this node owns but has not taken over yet', async () => {
  const workflows = workflowsWith({ node: 'a', incarnation: 1 });
  const error = await workflows
    .toOwner('app:flows', 'order-7', { op: 'history' }, async () => 'ran')
    .catch((failure: unknown) => failure);
  expect(error).toMatchObject({ kind: 'UNAVAILABLE', details: { workflow: 'order-7' } });
});

it('passes on at once an answer that is not about the owner (a workflow it does not know)', async () => {
  const owner = new WorkflowChannel(connection, 'test.wf');
  owner.serve('b', async () => {
    throw new LuactError('NOT_FOUND', 'no workflow {app:flows|order-7}', { retryable: false });
  });
  const workflows = workflowsWith({ node: 'b', incarnation: 5 }, 30_000);
  const started = Date.now();
  await expect(
    workflows.toOwner('app:flows', 'order-7', { op: 'history' }, async () => 'ran'),
  ).rejects.toMatchObject({ kind: 'NOT_FOUND', message: 'no workflow {app:flows|order-7}' });
  expect(Date.now() - started).toBeLessThan(15_000); // not after the 30 s owner wait
  await owner.close();
});
