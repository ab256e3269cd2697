import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type NatsServerHandle,
  runUntilKilled,
  seededRandom,
  startNatsServer,
} from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import {
  SPLIT_APPEND,
  SPLIT_MAX_PAYLOAD,
  splitAppendRecords,
} from './testing/split-append-records.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, 'testing', 'split-append-writer.ts');
const STREAM = 'SPLIT_CRASH';
const PREFIX = 'split.journal';
const IDS = ['split-a', 'split-b'];
/** Kills until one lands between the entries of a split append (almost always the first). */
const MAX_ROUNDS = 8;

let server: NatsServerHandle;
let connection: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: SPLIT_MAX_PAYLOAD });
  connection = await connect({ servers: server.url });
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

it('keeps acknowledged appends when the writer is SIGKILLed between the entries of a split append, and a repeat finishes it once', async () => {
  const opening = await JetStreamJournal.open({
    connection,
    stream: STREAM,
    subjectPrefix: PREFIX,
  });
  await opening.shutdown();
  const seed = Date.now();
  const random = seededRandom(seed);
  const acknowledged = new Map<string, number>();
  let cutShort = 0;
  for (let round = 0; round < MAX_ROUNDS && cutShort === 0; round++) {
    const delayMs = 20 + Math.floor(random() * 200);
    for (const [id, length] of await runAndKill(delayMs)) acknowledged.set(id, length);

    // A restarted writer: what is there, then the interrupted append repeated.
    const journal = await JetStreamJournal.open({
      connection,
      stream: STREAM,
      subjectPrefix: PREFIX,
    });
    try {
      for (const id of IDS) {
        const acked = acknowledged.get(id) ?? 0;
        const context = `seed ${seed} round ${round} (killed ${delayMs} ms after ready), ${id} acked ${acked}`;
        const records = await journal.read(id);
        // Whole entries of the next append (6 records each), or all of it before its ack.
        expect([0, 6, 12, SPLIT_APPEND], context).toContain(records.length - acked);
        expect(
          records.map((record) => record.n),
          context,
        ).toEqual(Array.from({ length: records.length }, (_, n) => n));
        if (records.length - acked > 0 && records.length - acked < SPLIT_APPEND) cutShort++;
        await journal.append(id, acked, splitAppendRecords(acked));
        const after = await journal.read(id);
        expect(after, context).toEqual([...records.slice(0, acked), ...splitAppendRecords(acked)]);
        acknowledged.set(id, acked + SPLIT_APPEND);
      }
    } finally {
      await journal.shutdown();
    }
  }
  expect(cutShort, `no kill in ${MAX_ROUNDS} rounds landed inside a split append`).toBeGreaterThan(
    0,
  );
}, 300_000); // child processes started and killed: slow on a loaded machine

/** Runs the writer until `delayMs` after it is ready, SIGKILLs it, returns its last acks. */
async function runAndKill(delayMs: number): Promise<Map<string, number>> {
  const acks = new Map<string, number>();
  await runUntilKilled({
    args: [
      '--conditions=luact-source',
      '--import',
      'tsx',
      WRITER,
      server.url,
      STREAM,
      PREFIX,
      ...IDS,
    ],
    cwd: here,
    killAfterMs: delayMs,
    name: 'split-append writer',
    onLine: (line) => {
      const [word, id, length] = line.split(' ');
      if (word === 'ack' && id) acks.set(id, Number(length));
    },
  });
  return acks;
}
