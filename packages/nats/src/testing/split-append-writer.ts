/**
 * A child process for the split-append crash test: appends to each journal named, as fast as
 * it can, appends too large for one message of the test's server (each is split into several
 * entries), and prints `ack <journal> <length>` once an append resolved (and `ready` after the
 * first), until it is killed.
 * Usage: node --import tsx split-append-writer.ts <nats url> <stream> <subject prefix> <id>...
 */
import { connect } from '@nats-io/transport-node';
import { JetStreamJournal } from '../jetstream-journal.js';
import { SPLIT_APPEND, splitAppendRecords } from './split-append-records.js';

const [url, stream, subjectPrefix, ...ids] = process.argv.slice(2) as [string, string, string];
const connection = await connect({ servers: url });
const journal = await JetStreamJournal.open({ connection, stream, subjectPrefix });

// Ready once appends are flowing (the first was acknowledged): on a loaded machine, a kill
// timed from an earlier point could land before any append began, round after round.
let ready = false;

async function appendForever(id: string): Promise<never> {
  let length = (await journal.read(id)).length;
  for (;;) {
    await journal.append(id, length, splitAppendRecords(length));
    length += SPLIT_APPEND;
    process.stdout.write(`ack ${id} ${length}\n`); // synchronous on a pipe: printed = acknowledged
    if (!ready) {
      ready = true;
      process.stdout.write('ready\n');
    }
  }
}

await Promise.all(ids.map((id) => appendForever(id)));
