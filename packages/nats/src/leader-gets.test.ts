import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { beforeAll, expect, it } from 'vitest';
import { LeaderGets } from './leader-gets.js';
import { natsServerAndConnection } from './testing/nats-server.js';

const nats = natsServerAndConnection();

beforeAll(async () => {
  const jsm = await jetstreamManager(nats.connection);
  await jsm.streams.add({ name: 'GETS', subjects: ['gets.>'] });
  const js = jetstream(nats.connection);
  for (let i = 0; i < 6; i++) {
    await js.publish(`gets.a.${i % 2}`, new Uint8Array([i]));
    await js.publish('gets.b', new Uint8Array([i]));
  }
});

const bytes = (messages: { data: Uint8Array }[]) => messages.map((message) => message.data[0]);

it('reads a subject, or every subject a filter matches, in stream order', async () => {
  const gets = new LeaderGets(await jetstreamManager(nats.connection), 'GETS');
  expect(bytes(await gets.subject('gets.b', () => false))).toEqual([0, 1, 2, 3, 4, 5]);
  const matching = await gets.subject('gets.a.>', () => false);
  expect(matching.map((message) => message.subject)).toEqual([
    'gets.a.0',
    'gets.a.1',
    'gets.a.0',
    'gets.a.1',
    'gets.a.0',
    'gets.a.1',
  ]);
  expect(await gets.subject('gets.none', () => false)).toEqual([]);
});

it('stops where the caller says the last wanted message is', async () => {
  const gets = new LeaderGets(await jetstreamManager(nats.connection), 'GETS');
  expect(bytes(await gets.subject('gets.b', (_, read) => read >= 2))).toEqual([0, 1]);
  const upTo = await gets.subject('gets.a.0', (message) => message.data[0] === 2);
  expect(bytes(upTo)).toEqual([0, 2]);
});

it('reads many subjects at once, one at a time past its limit, and every read ends', async () => {
  const gets = new LeaderGets(await jetstreamManager(nats.connection), 'GETS', 1);
  const reads = await Promise.all(
    Array.from({ length: 5 }, () => gets.subject('gets.b', () => false)),
  );
  for (const read of reads) expect(bytes(read)).toEqual([0, 1, 2, 3, 4, 5]);
});

it('fails a read of a stream that does not exist, and frees its turn', async () => {
  const gets = new LeaderGets(await jetstreamManager(nats.connection), 'NO_SUCH_STREAM', 1);
  await expect(gets.subject('gets.b', () => false)).rejects.toThrow(/stream not found/);
  await expect(gets.subject('gets.b', () => false)).rejects.toThrow(/stream not found/);
});
