import { encodeRecord } from '@luact/journal';
import { describeJournalConformance, type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamJournal, type JetStreamJournalOptions } from './jetstream-journal.js';
import { JournalStreamAccess } from './testing/journal-stream.js';

let server: NatsServerHandle;
let connection: NatsConnection;
let journals = 0;

beforeAll(async () => {
  server = await startNatsServer({ monitoring: true });
  connection = await connect({ servers: server.url });
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

/** Options for a journal on a JetStream stream and subjects of its own. */
function freshOptions(): JetStreamJournalOptions & { stream: string; subjectPrefix: string } {
  journals++;
  return { connection, stream: `JOURNAL_${journals}`, subjectPrefix: `test${journals}.journal` };
}

describeJournalConformance('JetStreamJournal', async () => {
  const options = freshOptions();
  const access = new JournalStreamAccess(connection, options.stream, options.subjectPrefix);
  return {
    journal: await JetStreamJournal.open(options),
    reopen: () => JetStreamJournal.open(options),
    // An entry missing from the chain: a record forged after the journal's last entry, then
    // that entry deleted (an append is one message, so there may be no middle one to delete).
    damage: async (id) => {
      const last = (await access.messages(id)).at(-1);
      if (last === undefined) return;
      await access.forge(id, { epoch: 0, prev: last.seq, payload: encodeRecord({ n: 'after' }) });
      await access.deleteMessage(last.seq);
    },
    cleanup: () => access.deleteStream(),
  };
});

describe('JetStreamJournal', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function journalPair() {
    const options = freshOptions();
    const access = new JournalStreamAccess(connection, options.stream, options.subjectPrefix);
    const first = await JetStreamJournal.open(options);
    const second = await JetStreamJournal.open(options);
    cleanups.push(async () => {
      await first.shutdown();
      await second.shutdown();
      await access.deleteStream();
    });
    return { first, second, access };
  }

  it('closes the subscription its appends are acknowledged on at shutdown', async () => {
    const subscriptions = async (client: NatsConnection): Promise<string[]> => {
      await client.flush();
      const cid = client.info?.client_id;
      const response = await fetch(`${server.monitorUrl}/connz?subs=1&cid=${cid}`);
      const body = (await response.json()) as {
        connections: { subscriptions_list?: string[] }[];
      };
      return body.connections[0]?.subscriptions_list ?? [];
    };
    const own = await connect({ servers: server.url });
    try {
      const options = { ...freshOptions(), connection: own };
      const access = new JournalStreamAccess(connection, options.stream, options.subjectPrefix);
      cleanups.push(() => access.deleteStream());
      const journal = await JetStreamJournal.open(options);
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.append('wf', 1, [{ n: 1 }]);
      const running = await subscriptions(own);
      await journal.shutdown();
      const after = await subscriptions(own);
      // The client's own request inbox stays; the journal's reply inbox goes.
      expect(after.every((subject) => running.includes(subject))).toBe(true);
      expect(running.filter((subject) => !after.includes(subject))).toEqual([
        expect.stringMatching(/^_INBOX\.[A-Z0-9]+\.\*$/),
      ]);
      expect(await journal.read('wf').catch((error: unknown) => error)).toMatchObject({
        kind: 'UNAVAILABLE',
      });
    } finally {
      await own.close();
    }
  });

  it('names the journal when the look for its close marker is refused (its stream is gone)', async () => {
    const options = { ...freshOptions(), publishBudgetMs: 1_000 };
    const access = new JournalStreamAccess(connection, options.stream, options.subjectPrefix);
    const journal = await JetStreamJournal.open(options);
    cleanups.push(() => journal.shutdown());
    await access.deleteStream();
    await expect(journal.append('orphan', 0, [{ n: 0 }])).rejects.toMatchObject({
      kind: 'INTERNAL',
      message: expect.stringMatching(/look up journal orphan failed: .*JetStream error 10059/),
    });
  });

  it('refuses a second writer that appends after the first with CONFLICT', async () => {
    const { first, second } = await journalPair();
    await first.append('wf', 0, [{ n: 0 }]);
    await second.append('wf', 1, [{ n: 1, by: 'second' }]);
    await expect(first.append('wf', 1, [{ n: 1, by: 'first' }])).rejects.toMatchObject({
      kind: 'CONFLICT',
      details: { stream: 'wf', expected: 1, actual: 2 },
    });
    expect(await first.read('wf')).toEqual([{ n: 0 }, { n: 1, by: 'second' }]);
  });

  it('stores the rest of an append a writer left half done', async () => {
    const { first, second } = await journalPair();
    await first.append('wf', 0, [{ n: 0 }]); // as if it died before publishing { n: 1 }
    await second.append('wf', 0, [{ n: 0 }, { n: 1 }]);
    expect(await second.read('wf')).toEqual([{ n: 0 }, { n: 1 }]);
  });

  it('names the subject and sequence of a record that does not decode', async () => {
    const { first, access } = await journalPair();
    await first.append('wf', 0, [{ n: 0 }]);
    const subject = access.entriesSubject('wf');
    const [stored] = await access.messages('wf');
    const seq = await access.forge('wf', {
      epoch: 0,
      prev: stored?.seq ?? 0,
      payload: Uint8Array.of(0x91, 0x01),
    });
    await expect(first.read('wf')).rejects.toMatchObject({
      kind: 'INTERNAL',
      message: `journal wf: damaged entry on subject ${subject} at sequence ${seq}: payload is not a record but an array`,
      details: { stream: 'wf', subject, sequence: seq },
    });
  });

  it('keeps one message per append, each naming its epoch, the entry it follows and its place', async () => {
    const { first, access } = await journalPair();
    await first.append('wf', 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    await first.append('wf', 3, [{ n: 3 }]);
    const messages = await access.messages('wf');
    const [packed, single] = messages;
    const token = access.entriesSubject('wf').split('.').pop();
    expect(messages).toHaveLength(2);
    expect(messages.map((message) => message.header.get('Luact-Epoch'))).toEqual(['0', '0']);
    expect(messages.map((message) => message.header.get('Luact-Entry'))).toEqual([
      'records',
      'record',
    ]);
    expect(messages.map((message) => message.header.get('Luact-Records'))).toEqual(['3', '']);
    expect(messages.map((message) => message.header.get('Luact-Prev'))).toEqual([
      '0',
      String(packed?.seq),
    ]);
    expect(messages.map((message) => message.header.get('Nats-Msg-Id'))).toEqual([
      `${token}:0:0`,
      `${token}:${packed?.seq}:0`,
    ]);
    // Packed: a u32 count, then a u32 length and the msgpack bytes of each record.
    const frame = (record: Uint8Array) => [0, 0, 0, record.byteLength, ...record];
    expect([...(packed?.data ?? [])]).toEqual([
      0,
      0,
      0,
      3,
      ...[0, 1, 2].flatMap((n) => frame(encodeRecord({ n }))),
    ]);
    // A single record stays a plain record entry, as every luact wrote them.
    expect([...(single?.data ?? [])]).toEqual([...encodeRecord({ n: 3 })]);
  });

  it('says how durable an append is', async () => {
    const { first } = await journalPair();
    expect(first.kind).toBe('jetstream');
    expect(first.durability).toMatch(/^JetStream R1 /);
  });
});
