import { encodeRecord } from '@luact/journal';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import { JournalStreamAccess } from './testing/journal-stream.js';

let server: NatsServerHandle;
let connection: NatsConnection;
let streams = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connect({ servers: server.url });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

/** A stream of its own; `journal(epochOf)` opens another independent journal on it. */
function freshStream(partitions?: number) {
  streams++;
  const stream = `FENCE_${streams}`;
  const subjectPrefix = `fence${streams}.journal`;
  const access = new JournalStreamAccess(connection, stream, subjectPrefix, partitions);
  const opened: JetStreamJournal[] = [];
  cleanups.push(async () => {
    for (const journal of opened) await journal.shutdown();
    await access.deleteStream();
  });
  const journal = async (epochOf?: (partition: number) => number | undefined) => {
    const opening = await JetStreamJournal.open({
      connection,
      stream,
      subjectPrefix,
      ...(partitions === undefined ? {} : { partitions }),
      ...(epochOf === undefined ? {} : { epochOf }),
    });
    opened.push(opening);
    return opening;
  };
  return { access, journal };
}

const conflict = { name: 'LuactError', kind: 'CONFLICT' };

describe('the fork rule on a real server', () => {
  it('makes independent journals read the same records from a forged fork', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal(() => 1);
    // One append per record: one message each, so a fork can follow record 0.
    await writer.append('wf', 0, [{ n: 0 }]);
    await writer.append('wf', 1, [{ n: 1 }]);
    const [first] = await access.messages('wf');
    const at = first?.seq ?? 0;
    // Bypassing the journal: a writer of the same epoch forks after record 0 (stored later,
    // so it loses), and one of a newer epoch forks there too (it wins) and goes on.
    await access.forge('wf', { epoch: 1, prev: at, payload: encodeRecord({ n: 'same epoch' }) });
    const newer = await access.forge('wf', {
      epoch: 2,
      prev: at,
      payload: encodeRecord({ n: 'newer' }),
    });
    await access.forge('wf', { epoch: 2, prev: newer, payload: encodeRecord({ n: 'after' }) });

    const winning = [{ n: 0 }, { n: 'newer' }, { n: 'after' }];
    const [one, two] = [await journal(), await journal()];
    expect(await one.read('wf')).toEqual(winning);
    expect(await two.read('wf')).toEqual(winning);
    expect(await writer.read('wf')).toEqual(winning);
    expect(await one.list()).toEqual([{ id: 'wf', length: 3, closed: false }]);
    const [partition] = (await one.readPartition(one.partitionOf('wf'))) as [unknown];
    expect(partition).toEqual({ id: 'wf', records: winning, closed: false });
  });

  it('tells a writer whose record lost a fork CONFLICT, without touching the winning chain', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal(() => 1);
    // One append per record: one message each, so a fork can follow record 0.
    await writer.append('wf', 0, [{ n: 0 }]);
    await writer.append('wf', 1, [{ n: 1 }]);
    const [first] = await access.messages('wf');
    await access.forge('wf', {
      epoch: 2,
      prev: first?.seq ?? 0,
      payload: encodeRecord({ n: 'won' }),
    });
    // Same length as the writer believes, but its record 1 is not on the chain any more.
    await expect(writer.append('wf', 2, [{ n: 2 }])).rejects.toMatchObject({
      ...conflict,
      message: expect.stringMatching(/lost a fork/),
    });
    expect(await (await journal()).read('wf')).toEqual([{ n: 0 }, { n: 'won' }]);
  });

  it('hides what a zombie appends after a new owner fenced, and tells it CONFLICT', async () => {
    const { access, journal } = await freshStream();
    const zombie = await journal(() => 1);
    const owner = await journal(() => 2);
    await zombie.append('wf', 0, [
      { by: 'old', n: 0 },
      { by: 'old', n: 1 },
    ]);

    expect(await owner.fence('wf')).toEqual({ outcome: 'fenced', length: 2 });
    await expect(zombie.append('wf', 2, [{ by: 'old', n: 2 }])).rejects.toMatchObject({
      ...conflict,
      details: { stream: 'wf', epoch: 1, fencedAt: 2 },
    });
    // The 2.9.10 R3 race: the zombie's publish stored although the fence came first.
    const fence = (await access.messages('wf')).at(-1);
    expect(fence?.header.get('Luact-Entry')).toBe('fence');
    await access.forge('wf', {
      epoch: 1,
      prev: fence?.seq ?? 0,
      payload: encodeRecord({ by: 'old', n: 2 }),
    });
    await owner.append('wf', 2, [{ by: 'new', n: 2 }]);

    const expected = [
      { by: 'old', n: 0 },
      { by: 'old', n: 1 },
      { by: 'new', n: 2 },
    ];
    expect(await owner.read('wf')).toEqual(expected);
    expect(await zombie.read('wf')).toEqual(expected);
    expect(await (await journal()).read('wf')).toEqual(expected);
    await expect(zombie.append('wf', 3, [{ by: 'old', n: 3 }])).rejects.toMatchObject(conflict);
    await expect(zombie.close('wf', { by: 'old' })).rejects.toMatchObject(conflict);
    await expect(zombie.fence('wf')).rejects.toMatchObject(conflict);
    expect(await owner.open()).toEqual(['wf']);
    await owner.close('wf', { by: 'new' });
    expect(await zombie.listClosed()).toEqual([{ id: 'wf', summary: { by: 'new' } }]);
  });

  it('keeps a journal open whose close marker a zombie sent for a close that lost the fork', async () => {
    const { access, journal } = await freshStream();
    const zombie = await journal(() => 1);
    const owner = await journal(() => 2);
    await zombie.append('wf', 0, [{ by: 'old', n: 0 }]);
    expect(await owner.fence('wf')).toEqual({ outcome: 'fenced', length: 1 });
    // The 2.9.10 R3 race: the zombie's close stored after the fence (so it loses the fork),
    // and the zombie, told it was stored, sends the close marker that goes with it.
    const fence = (await access.messages('wf')).at(-1);
    await access.forge('wf', { epoch: 1, prev: fence?.seq ?? 0, kind: 'close' });
    await jetstream(connection).publish(
      access.closeMarkerSubject('wf'),
      encodeRecord({ by: 'old' }),
    );

    // The winning chain does not close: the journal is open, its new owner writes it.
    for (const reader of [owner, await journal()]) {
      expect(await reader.readPartition(reader.partitionOf('wf'))).toEqual([
        { id: 'wf', records: [{ by: 'old', n: 0 }], closed: false },
      ]);
    }
    await owner.append('wf', 1, [{ by: 'new', n: 1 }]);
    expect(await owner.list()).toEqual([{ id: 'wf', length: 2, closed: false }]);
    expect(await (await journal(() => 3)).takeOver(owner.partitionOf('wf'))).toEqual([
      {
        id: 'wf',
        records: [
          { by: 'old', n: 0 },
          { by: 'new', n: 1 },
        ],
        closed: false,
      },
    ]);
  });

  it.each([
    ['its own message ID', true],
    ['no message ID', false],
  ])(
    'replaces the close marker a zombie sent (with %s) by the winning close’s when the owner closes',
    async (_, zombieMsgId) => {
      const { access, journal } = await freshStream();
      const zombie = await journal(() => 1);
      const owner = await journal(() => 2);
      await zombie.append('wf', 0, [{ n: 0 }]);
      expect(await owner.fence('wf')).toEqual({ outcome: 'fenced', length: 1 });
      // As above: the zombie's close lost the fork, and its marker, sent as a writer sends one
      // (message ID `<subject>:<length>`) or not, says how the zombie thought the run ended.
      const fence = (await access.messages('wf')).at(-1);
      await access.forge('wf', { epoch: 1, prev: fence?.seq ?? 0, kind: 'close' });
      const subject = access.closeMarkerSubject('wf');
      const stale = encodeRecord({ status: 'failed' });
      await jetstream(connection).publish(
        subject,
        stale,
        zombieMsgId ? { msgID: `${subject}:${stale.length}` } : {},
      );
      expect(await owner.listClosed()).toEqual([{ id: 'wf', summary: { status: 'failed' } }]);

      await owner.append('wf', 1, [{ n: 1 }]);
      await owner.close('wf', { status: 'passed' }); // as long encoded as the zombie's
      for (const reader of [owner, await journal()]) {
        expect(await reader.listClosed()).toEqual([{ id: 'wf', summary: { status: 'passed' } }]);
      }
    },
  );

  it('fences once per epoch, and never a journal without records or a closed one', async () => {
    const { journal } = await freshStream();
    const owner = await journal(() => 3);
    expect(await owner.fence('none')).toEqual({ outcome: 'empty' });
    await owner.append('wf', 0, [{ n: 0 }]);
    expect(await owner.fence('wf')).toEqual({ outcome: 'fenced', length: 1 });
    expect(await owner.fence('wf')).toEqual({ outcome: 'fenced', length: 1 });
    await owner.append('wf', 1, [{ n: 1 }]);
    expect(await owner.read('wf')).toEqual([{ n: 0 }, { n: 1 }]);
    expect(await owner.list()).toEqual([{ id: 'wf', length: 2, closed: false }]);
    await owner.close('wf');
    expect(await owner.fence('wf')).toEqual({ outcome: 'closed' });
    expect(await owner.list()).toEqual([{ id: 'wf', length: 2, closed: true }]);
  });

  it('refuses to write a partition this node does not own, and still reads it', async () => {
    const { journal } = await freshStream();
    const owner = await journal(() => 1);
    await owner.append('wf', 0, [{ n: 0 }]);
    const partition = owner.partitionOf('wf');
    const bystander = await journal((p) => (p === partition ? undefined : 1));
    await expect(bystander.append('wf', 1, [{ n: 1 }])).rejects.toMatchObject({
      ...conflict,
      message: expect.stringContaining(`does not own partition ${partition}`),
      details: { partition },
    });
    await expect(bystander.fence('wf')).rejects.toMatchObject(conflict);
    await expect(bystander.close('wf')).rejects.toMatchObject(conflict);
    expect(await bystander.read('wf')).toEqual([{ n: 0 }]);
  });
});

describe('reading and taking over a partition', () => {
  it('reads every journal of each partition with its records and whether it is closed', async () => {
    const { journal } = await freshStream(4);
    const writer = await journal();
    const ids = Array.from({ length: 300 }, (_, index) => `orders/${index}`);
    await Promise.all(ids.map((id) => writer.append(id, 0, [{ id }, { step: 1 }])));
    await Promise.all(ids.filter((_, index) => index % 3 === 0).map((id) => writer.close(id)));

    const reader = await journal();
    const seen = new Map<string, unknown>();
    for (let partition = 0; partition < reader.partitions; partition++) {
      for (const found of await reader.readPartition(partition)) {
        expect(reader.partitionOf(found.id)).toBe(partition);
        seen.set(found.id, found);
      }
    }
    expect(seen.size).toBe(300);
    ids.forEach((id, index) => {
      expect(seen.get(id)).toEqual({ id, records: [{ id }, { step: 1 }], closed: index % 3 === 0 });
    });
  }, 60_000);

  it('reports a damaged journal of a partition and reads the others', async () => {
    const { access, journal } = await freshStream(1);
    const writer = await journal();
    await writer.append('healthy', 0, [{ n: 0 }]);
    for (const n of [0, 1, 2]) await writer.append('damaged', n, [{ n }]);
    const [, middle] = await access.messages('damaged');
    await access.deleteMessage(middle?.seq ?? 0);
    const found = await writer.readPartition(0);
    expect(found.find((journal) => journal.id === 'healthy')).toEqual({
      id: 'healthy',
      records: [{ n: 0 }],
      closed: false,
    });
    expect(found.find((journal) => journal.id === 'damaged')).toMatchObject({
      damaged: { kind: 'INTERNAL', message: expect.stringMatching(/missing/) },
    });
  });

  it('takes over a partition: fences every open journal, and the old owner can no longer write', async () => {
    const { access, journal } = await freshStream(2);
    const old = await journal(() => 1);
    const ids = Array.from({ length: 40 }, (_, index) => `run-${index}`);
    await Promise.all(ids.map((id) => old.append(id, 0, [{ id }])));
    const mine = ids.filter((id) => old.partitionOf(id) === 0);
    const finished = mine[0] as string;
    await old.close(finished);

    const owner = await journal(() => 2);
    const taken = await owner.takeOver(0);
    expect(taken.map((found) => found.id).sort()).toEqual([...mine].sort());
    for (const found of taken) {
      const closed = found.id === finished;
      expect(found).toEqual({ id: found.id, records: [{ id: found.id }], closed });
      const last = (await access.messages(found.id)).at(-1)?.header.get('Luact-Entry');
      expect(last).toBe(closed ? 'close' : 'fence');
    }
    for (const id of mine.filter((id) => id !== finished)) {
      await expect(old.append(id, 1, [{ late: true }])).rejects.toMatchObject(conflict);
      await owner.append(id, 1, [{ resumed: true }]);
      expect(await old.read(id)).toEqual([{ id }, { resumed: true }]);
    }
    // Partition 1 was not taken over: the old owner writes there as before.
    const other = ids.find((id) => old.partitionOf(id) === 1) as string;
    await old.append(other, 1, [{ n: 1 }]);
  }, 60_000);

  it('fails a takeover still under way when its journal shuts down with "shut down", not as a lost connection', async () => {
    const { journal } = await freshStream();
    const old = await journal(() => 1);
    await old.append('wf', 0, [{ n: 0 }]);
    const owner = await journal(() => 2);
    // The takeover reads the partition first (a round trip at least); the shutdown that
    // follows finds nothing locked and closes the journal's inbox before the fences go out.
    const takingOver = owner.takeOver(owner.partitionOf('wf')).catch((error: unknown) => error);
    await owner.shutdown();
    expect(await takingOver).toMatchObject({
      kind: 'UNAVAILABLE',
      retryable: false,
      message: expect.stringContaining('is shut down'),
    });
  });
});
