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
  server = await startNatsServer();
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
    damage: async (id) => {
      const [, middle] = await access.messages(id);
      if (middle) await access.deleteMessage(middle.seq);
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

  it('keeps one message per record, each naming its epoch, the entry it follows and its place', async () => {
    const { first, access } = await journalPair();
    await first.append('wf', 0, [{ n: 0 }, { n: 1 }]);
    const messages = await access.messages('wf');
    const [one, two] = messages;
    const token = access.entriesSubject('wf').split('.').pop();
    expect(messages.map((message) => message.header.get('Luact-Epoch'))).toEqual(['0', '0']);
    expect(messages.map((message) => message.header.get('Luact-Entry'))).toEqual([
      'record',
      'record',
    ]);
    expect(messages.map((message) => message.header.get('Luact-Prev'))).toEqual([
      '0',
      String(one?.seq),
    ]);
    expect(messages.map((message) => message.header.get('Nats-Msg-Id'))).toEqual([
      `${token}:0:0`,
      `${token}:${one?.seq}:0`,
    ]);
    expect([...(two?.data ?? [])]).toEqual([...encodeRecord({ n: 1 })]);
  });

  it('says how durable an append is', async () => {
    const { first } = await journalPair();
    expect(first.kind).toBe('jetstream');
    expect(first.durability).toMatch(/^JetStream R1 /);
  });
});
