import { jetstreamManager } from '@nats-io/jetstream';
import { expect, it, vi } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import { natsClusterAndConnection } from './testing/nats-server.js';

const nats = natsClusterAndConnection();

// A new owner reads every partition of a dead node; on 2.9.10 a read through a one-replica
// consumer fails for as long as the server the consumer was placed on stays down.
it('reads and takes over every partition while the server that led the stream is down', async () => {
  const journal = await JetStreamJournal.open({
    connection: nats.connection,
    stream: 'KILL_R3',
    subjectPrefix: 'kill.journal',
    replicas: 3,
    partitions: 16,
    epochOf: () => 1,
  });
  const ids = Array.from({ length: 48 }, (_, i) => `job-${i}`);
  for (const id of ids)
    await journal.append(id, 0, [
      { id, step: 1 },
      { id, step: 2 },
    ]);
  await journal.close('job-0', { done: true });

  const jsm = await jetstreamManager(nats.connection);
  const leader = (await jsm.streams.info('KILL_R3')).cluster?.leader;
  const victim = nats.cluster.nodes.find((node) => node.name === leader);
  if (victim === undefined) throw new Error(`no server is named as KILL_R3's leader: ${leader}`);
  await victim.kill('SIGKILL');

  // Until the two left elect a leader reads fail; after that, every partition in one pass.
  const read = await vi.waitFor(
    async () => {
      const partitions = Array.from({ length: journal.partitions }, (_, p) => p);
      return (await Promise.all(partitions.map((p) => journal.readPartition(p)))).flat();
    },
    { timeout: 60_000, interval: 500 },
  );
  expect(read.map((each) => each.id).sort()).toEqual([...ids].sort());
  for (const each of read) {
    expect(each).toMatchObject({
      records: [
        { id: each.id, step: 1 },
        { id: each.id, step: 2 },
      ],
      closed: each.id === 'job-0',
    });
  }

  const owner = await JetStreamJournal.open({
    connection: nats.connection,
    stream: 'KILL_R3',
    subjectPrefix: 'kill.journal',
    replicas: 3,
    partitions: 16,
    epochOf: () => 2,
  });
  const taken = (
    await Promise.all(Array.from({ length: owner.partitions }, (_, p) => owner.takeOver(p)))
  ).flat();
  expect(taken).toHaveLength(ids.length);
  await owner.append('job-1', 2, [{ id: 'job-1', step: 3 }]);
  expect(await owner.read('job-1')).toEqual([
    { id: 'job-1', step: 1 },
    { id: 'job-1', step: 2 },
    { id: 'job-1', step: 3 },
  ]);
  // The old owner, fenced, cannot write there any more.
  await expect(journal.append('job-2', 2, [{ id: 'job-2', step: 3 }])).rejects.toMatchObject({
    kind: 'CONFLICT',
  });
  await Promise.all([journal.shutdown(), owner.shutdown()]);
}, 150_000);
