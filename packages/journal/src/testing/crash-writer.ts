/**
 * A child process for the crash test: appends to CRASH_STREAMS as fast as it can and prints
 * `ack <stream> <length>` once an append resolved, until it is killed.
 * Usage: node --import tsx crash-writer.ts <dir> <fsync>
 */
import { FileJournal } from '../file-journal.js';
import type { FsyncPolicy } from '../sync-policy.js';
import { CRASH_STREAMS, crashRecord } from './crash-records.js';

const [dir, fsync] = process.argv.slice(2) as [string, FsyncPolicy];
// Small segments: a kill also lands around the start of a new one.
const journal = await FileJournal.open({ dir, fsync, segmentBytes: 128 * 1024 });

async function appendForever(id: string): Promise<never> {
  let length = (await journal.read(id)).length;
  for (let call = 0; ; call++) {
    const count = 1 + (call % 3);
    const records = Array.from({ length: count }, (_, index) => crashRecord(id, length + index));
    await journal.append(id, length, records);
    length += count;
    process.stdout.write(`ack ${id} ${length}\n`); // synchronous on a pipe: printed = acknowledged
  }
}

const writers = CRASH_STREAMS.map((id) => appendForever(id));
process.stdout.write('ready\n');
await Promise.all(writers);
