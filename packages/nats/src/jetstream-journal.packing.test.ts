import { encodeRecord, type JournalRecord } from '@luact/journal';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import { packRecords } from './packed-records.js';
import { JournalStreamAccess } from './testing/journal-stream.js';

/**
 * An append is one message (its records packed), split only where a message would pass the
 * server's max_payload; journals written one message per record read the same.
 */

/** Small messages: an append of a few kilobytes no longer fits in one. */
const SMALL_MAX_PAYLOAD = 8 * 1024;

let server: NatsServerHandle;
let small: NatsServerHandle;
let connection: NatsConnection;
let smallConnection: NatsConnection;
let streams = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [server, small] = await Promise.all([
    startNatsServer(),
    startNatsServer({ maxPayload: SMALL_MAX_PAYLOAD }),
  ]);
  connection = await connect({ servers: server.url });
  smallConnection = await connect({ servers: small.url });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await Promise.all([connection?.close(), smallConnection?.close()]);
  await Promise.all([server?.stop(), small?.stop()]);
});

/** A stream of its own on `on`; `journal(epochOf)` opens another independent journal on it. */
function freshStream(on: NatsConnection = connection, partitions = 4) {
  streams++;
  const stream = `PACKING_${streams}`;
  const subjectPrefix = `packing${streams}.journal`;
  const access = new JournalStreamAccess(on, stream, subjectPrefix, partitions);
  const opened: JetStreamJournal[] = [];
  cleanups.push(async () => {
    for (const journal of opened) await journal.shutdown();
    await access.deleteStream();
  });
  const journal = async (epochOf?: (partition: number) => number, own: NatsConnection = on) => {
    const opening = await JetStreamJournal.open({
      connection: own,
      stream,
      subjectPrefix,
      partitions,
      ...(epochOf === undefined ? {} : { epochOf }),
    });
    opened.push(opening);
    return opening;
  };
  return { access, journal };
}

/** Writes `records` to journal `id` as luact did before packing: one message per record. */
async function writeOnePerRecord(
  access: JournalStreamAccess,
  id: string,
  records: readonly JournalRecord[],
  after = 0,
  epoch = 0,
): Promise<number> {
  let prev = after;
  for (const record of records) {
    prev = await access.forge(id, {
      epoch,
      prev,
      payload: encodeRecord(record),
      msgID: access.slotId(id, prev, epoch),
    });
  }
  return prev;
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, index) => ({ n: from + index }));
const conflict = { name: 'LuactError', kind: 'CONFLICT' };

describe('journals written one message per record', () => {
  it('read the same, and go on with packed appends that every reader counts', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal();
    await writeOnePerRecord(access, 'old', numbered(0, 3));
    expect(await writer.read('old')).toEqual(numbered(0, 3));
    expect(await writer.list()).toEqual([{ id: 'old', length: 3, closed: false }]);

    await writer.append('old', 3, numbered(3, 7));
    await writer.append('old', 7, [{ n: 7 }]);
    const kinds = (await access.messages('old')).map((message) =>
      message.header.get('Luact-Entry'),
    );
    expect(kinds).toEqual(['record', 'record', 'record', 'records', 'record']);

    // Every way of reading counts the records inside the packed entry.
    const reader = await journal();
    expect(await reader.read('old')).toEqual(numbered(0, 8));
    expect(await reader.list()).toEqual([{ id: 'old', length: 8, closed: false }]);
    expect(await reader.readPartition(reader.partitionOf('old'))).toEqual([
      { id: 'old', records: numbered(0, 8), closed: false },
    ]);
    await expect(reader.append('old', 4, [{ n: 4 }])).rejects.toMatchObject(conflict);

    // An old-layout record after a packed entry, as a node not yet upgraded writes it.
    const [last] = (await access.messages('old')).slice(-1);
    await writeOnePerRecord(access, 'old', [{ n: 8 }], last?.seq);
    const owner = await journal(() => 1);
    expect(await owner.fence('old')).toEqual({ outcome: 'fenced', length: 9 });
    await owner.append('old', 9, numbered(9, 11));
    await owner.close('old', { done: true });
    expect(await reader.read('old')).toEqual(numbered(0, 11));
    expect(await reader.list()).toEqual([{ id: 'old', length: 11, closed: true }]);
    expect(await reader.listClosed()).toEqual([{ id: 'old', summary: { done: true } }]);
  });

  it('finish an append a writer of one message per record left half done, once', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal();
    // It died after storing the first two of [0, 1, 2, 3].
    await writeOnePerRecord(access, 'half', numbered(0, 2));
    await expect(writer.append('half', 0, [{ n: 0 }, { n: 'other' }])).rejects.toMatchObject(
      conflict,
    );
    await writer.append('half', 0, numbered(0, 4));
    await writer.append('half', 0, numbered(0, 4));
    expect(await (await journal()).read('half')).toEqual(numbered(0, 4));
    const stored = await access.messages('half');
    expect(stored.map((message) => message.header.get('Luact-Records'))).toEqual(['', '', '2']);
  });
});

describe('packed entries', () => {
  it('are ignored with all their records below a fence, and fenced, read and taken over whole', async () => {
    const { access, journal } = await freshStream(connection, 1);
    const old = await journal(() => 1);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) {
      await old.append(id, 0, numbered(0, 3));
      await old.append(id, 3, numbered(3, 5));
    }
    const owner = await journal(() => 2);
    const taken = await owner.takeOver(0);
    expect(taken.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
      ids.map((id) => ({ id, records: numbered(0, 5), closed: false })),
    );
    expect(await owner.fence('a')).toEqual({ outcome: 'fenced', length: 5 });
    await expect(old.append('a', 5, numbered(5, 8))).rejects.toMatchObject(conflict);

    // The 2.9.10 R3 race: the old owner's packed append stored after the fence anyway.
    const fence = (await access.messages('a')).at(-1);
    expect(fence?.header.get('Luact-Entry')).toBe('fence');
    const late = numbered(5, 8).map((record) => encodeRecord({ ...record, by: 'old' }));
    await access.forge('a', {
      epoch: 1,
      prev: fence?.seq ?? 0,
      kind: 'records',
      count: late.length,
      payload: packRecords(late),
    });
    await owner.append('a', 5, numbered(5, 7));

    const reader = await journal();
    for (const each of [owner, old, reader]) {
      expect(await each.read('a')).toEqual(numbered(0, 7));
    }
    expect((await reader.list()).find((found) => found.id === 'a')).toEqual({
      id: 'a',
      length: 7,
      closed: false,
    });
    expect((await reader.readPartition(0)).find((found) => found.id === 'a')).toEqual({
      id: 'a',
      records: numbered(0, 7),
      closed: false,
    });
  });

  it('that do not hold what their headers say mark their journal damaged, naming the entry', async () => {
    const { access, journal } = await freshStream(connection, 1);
    const writer = await journal();
    await writer.append('healthy', 0, numbered(0, 2));
    await writer.append('short', 0, numbered(0, 2));
    const [first] = await access.messages('short');
    const seq = await access.forge('short', {
      epoch: 0,
      prev: first?.seq ?? 0,
      kind: 'records',
      count: 3,
      payload: packRecords([encodeRecord({ n: 2 }), encodeRecord({ n: 3 })]),
    });
    const subject = access.entriesSubject('short');
    const damage = {
      kind: 'INTERNAL',
      message: `journal short: damaged entry on subject ${subject} at sequence ${seq}: its payload holds 2 records, its Luact-Records header says 3`,
      details: { stream: 'short', subject, sequence: seq },
    };
    await expect((await journal()).read('short')).rejects.toMatchObject(damage);
    const partition = await writer.readPartition(0);
    expect(partition.find((found) => found.id === 'short')).toMatchObject({ damaged: damage });
    expect(partition.find((found) => found.id === 'healthy')).toEqual({
      id: 'healthy',
      records: numbered(0, 2),
      closed: false,
    });

    // A record inside a packed entry that does not decode: its place in the entry is named.
    await writer.append('garbled', 0, [{ n: 0 }]);
    const [head] = await access.messages('garbled');
    const garbled = await access.forge('garbled', {
      epoch: 0,
      prev: head?.seq ?? 0,
      kind: 'records',
      count: 2,
      payload: packRecords([encodeRecord({ n: 1 }), Uint8Array.of(0x91, 0x01)]),
    });
    await expect((await journal()).read('garbled')).rejects.toMatchObject({
      kind: 'INTERNAL',
      message: `journal garbled: damaged entry on subject ${access.entriesSubject('garbled')} at sequence ${garbled}: record 1 of 2: payload is not a record but an array`,
    });
  });
});

describe('round trips', () => {
  it('an append of any size is one publish; a new journal’s first also looks up its close marker alongside', async () => {
    // A connection of its own: its message count is the journal's alone.
    const own = await connect({ servers: server.url });
    const { journal } = await freshStream(own);
    cleanups.push(() => own.close());
    const writer = await journal(undefined, own);
    const sent = async (operation: () => Promise<unknown>) => {
      const before = own.stats().outMsgs;
      await operation();
      return own.stats().outMsgs - before;
    };
    expect(await sent(() => writer.append('wf', 0, numbered(0, 50)))).toBe(2);
    expect(await sent(() => writer.append('wf', 50, numbered(50, 100)))).toBe(1);
    expect(await sent(() => writer.append('wf', 100, [{ n: 100 }]))).toBe(1);
    // The close entry; once it is stored, the close marker (which close does not wait for).
    const closing = async () => {
      await writer.close('wf');
      await writer.shutdown();
    };
    expect(await sent(closing)).toBe(2);
    const reader = await journal(undefined, own);
    expect(await reader.read('wf')).toEqual(numbered(0, 101));
    expect(await reader.list()).toEqual([{ id: 'wf', length: 101, closed: true }]);
  });

  it('a close resolves once its entry is stored; its listings wait for the marker, others see it land', async () => {
    const { journal } = await freshStream();
    const [writer, other] = [await journal(), await journal()];
    for (const id of ['a', 'b', 'c']) await writer.append(id, 0, [{ id }]);
    await Promise.all(['a', 'b'].map((id) => writer.close(id, { id })));
    // Closed for every writer at once: the close entry decides.
    await expect(other.append('a', 1, [{ late: true }])).rejects.toMatchObject(conflict);
    expect(await writer.open()).toEqual(['c']);
    const closed = await writer.listClosed();
    expect(closed.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', summary: { id: 'a' } },
      { id: 'b', summary: { id: 'b' } },
    ]);
    await vi.waitFor(async () => expect(await other.open()).toEqual(['c']), { timeout: 5_000 });
    // Closing again, from anywhere, keeps the first summary.
    await other.close('a', { again: true });
    expect(await other.listClosed()).toContainEqual({ id: 'a', summary: { id: 'a' } });
  });

  it('a first append to an ID whose removal was cut short finishes that removal and stands', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal();
    await writer.append('gone', 0, [{ n: 0 }]);
    await writer.close('gone', { old: true });
    // A removal cut short after purging the entries: only the close marker is left. Nothing
    // lists such an ID (no entries), so no later removal would ever take the marker away.
    const jsm = await jetstreamManager(connection);
    await jsm.streams.purge(access.stream, { filter: access.entriesSubject('gone') });
    expect(await writer.ids()).toEqual([]);

    const fresh = await journal();
    await fresh.append('gone', 0, [{ n: 'again' }]);
    expect(await writer.read('gone')).toEqual([{ n: 'again' }]);
    expect(await fresh.list()).toEqual([{ id: 'gone', length: 1, closed: false }]);
    expect(await fresh.listClosed()).toEqual([]);
    await fresh.append('gone', 1, [{ n: 'on' }]);
    await fresh.close('gone', { new: true });
    expect(await fresh.listClosed()).toEqual([{ id: 'gone', summary: { new: true } }]);
  });

  it('a first append to a closed journal is refused and leaves it as it was', async () => {
    const { access, journal } = await freshStream();
    const writer = await journal();
    await writer.append('done', 0, [{ n: 0 }]);
    await writer.close('done');
    const fresh = await journal();
    await expect(fresh.append('done', 0, [{ n: 'again' }])).rejects.toMatchObject(conflict);
    expect(await fresh.read('done')).toEqual([{ n: 0 }]);
    expect((await access.messages('done')).length).toBe(2); // the record and the close
  });
});

describe('appends too large for one message', () => {
  /** Records of about 1 KB: six fit in an entry of the small server, whose limit is 6 KiB. */
  const large = (from: number, to: number) =>
    numbered(from, to).map((record) => ({ ...record, text: 'x'.repeat(1_000) }));

  it('are split into as few entries as fit, read back whole, and repeated without a copy', async () => {
    const { access, journal } = await freshStream(smallConnection);
    const writer = await journal();
    await writer.append('big', 0, large(0, 20));
    const stored = await access.messages('big');
    expect(stored.map((message) => message.header.get('Luact-Records'))).toEqual([
      '6',
      '6',
      '6',
      '2',
    ]);
    for (const message of stored) expect(message.data.byteLength).toBeLessThanOrEqual(6 * 1024);
    await writer.append('big', 0, large(0, 20));
    expect(await access.messages('big')).toHaveLength(4);

    const reader = await journal();
    expect(await reader.read('big')).toEqual(large(0, 20));
    expect(await reader.list()).toEqual([{ id: 'big', length: 20, closed: false }]);
    const [found] = await reader.readPartition(reader.partitionOf('big'));
    expect(found).toEqual({ id: 'big', records: large(0, 20), closed: false });
  });

  it('refuse a record no message can hold before publishing any of the append', async () => {
    const { access, journal } = await freshStream(smallConnection);
    const writer = await journal();
    await writer.append('huge', 0, [{ n: 0 }]);
    const records = [...large(1, 8), { n: 8, text: 'x'.repeat(SMALL_MAX_PAYLOAD) }];
    await expect(writer.append('huge', 1, records)).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringMatching(/^journal huge: record 8 is \d+ bytes encoded, more than/),
      details: { stream: 'huge', record: 8, limit: SMALL_MAX_PAYLOAD - 2_048 },
    });
    expect(await access.messages('huge')).toHaveLength(1);
    await writer.append('huge', 1, large(1, 8));
    expect(await writer.read('huge')).toEqual([{ n: 0 }, ...large(1, 8)]);
    // The same for the first append of a journal: no stream is created.
    await expect(writer.append('new', 0, records.slice(-1))).rejects.toMatchObject({
      kind: 'INVALID',
      details: { stream: 'new', record: 0 },
    });
    expect((await writer.list()).map((found) => found.id)).toEqual(['huge']);
  });

  describe('cut short between their publishes (the writer died)', () => {
    /** What a writer at `epoch` that died after the first entry of `append(id, 0, records)` left. */
    async function firstEntryOnly(
      access: JournalStreamAccess,
      id: string,
      records: readonly JournalRecord[],
      epoch: number,
    ): Promise<void> {
      const run = records.slice(0, 6).map(encodeRecord);
      await access.forge(id, {
        epoch,
        prev: 0,
        kind: 'records',
        count: run.length,
        payload: packRecords(run),
        msgID: access.slotId(id, 0, epoch),
      });
    }

    it('are finished by the writer repeating the append, each record stored once', async () => {
      const { access, journal } = await freshStream(smallConnection);
      const restarted = await journal(() => 1);
      await firstEntryOnly(access, 'cut', large(0, 20), 1);
      expect(await restarted.read('cut')).toEqual(large(0, 6));
      await restarted.append('cut', 0, large(0, 20));
      expect(await (await journal()).read('cut')).toEqual(large(0, 20));
      expect(
        (await access.messages('cut')).map((message) => message.header.get('Luact-Records')),
      ).toEqual(['6', '6', '6', '2']);
    });

    it('are taken over as far as they got, and the old writer cannot finish them', async () => {
      const { access, journal } = await freshStream(smallConnection, 1);
      const owner = await journal(() => 2);
      await firstEntryOnly(access, 'cut', large(0, 20), 1);
      expect(await owner.takeOver(0)).toEqual([{ id: 'cut', records: large(0, 6), closed: false }]);
      const restarted = await journal(() => 1);
      await expect(restarted.append('cut', 0, large(0, 20))).rejects.toMatchObject(conflict);
      await owner.append('cut', 6, large(6, 10));
      expect(await restarted.read('cut')).toEqual(large(0, 10));
    });
  });
});
