/**
 * A child process for the crash test: in CRASH_LANES lanes at once, appends to a stream as fast
 * as it can, closes it at CRASH_STREAM_LENGTH records and starts the lane's next one, until it
 * is killed. Like a retention, each lane keeps two closed streams and removes older ones.
 * Prints `ack <stream> <length>` once an append resolved, `closed <stream>` once a close did
 * and `removing <stream>` before a removal and `removed <stream>` once it resolved. Segments are small, so kills also land around new
 * segments, compactions and deletions of emptied archives.
 * Usage: node --import tsx crash-writer.ts <dir> <fsync>
 */
import { FileJournal } from '../file-journal.js';
import type { FsyncPolicy } from '../sync-policy.js';
import { CRASH_LANES, CRASH_STREAM_LENGTH, crashRecord, crashStream } from './crash-records.js';

const [dir, fsync] = process.argv.slice(2) as [string, FsyncPolicy];
const journal = await FileJournal.open({ dir, fsync, segmentBytes: 128 * 1024 });
const streams = await journal.list();

/** Where lane `lane` goes on: its newest stream, or the next one when that is closed. */
function resumeLane(lane: number): { generation: number; length: number } {
  let newest = { generation: 0, length: 0, closed: false };
  for (const stream of streams) {
    const [, laneText, generationText] = stream.id.split('/');
    const generation = Number(generationText);
    if (Number(laneText) === lane && generation >= newest.generation)
      newest = { generation, length: stream.length, closed: stream.closed };
  }
  return newest.closed
    ? { generation: newest.generation + 1, length: 0 }
    : { generation: newest.generation, length: newest.length };
}

async function remove(id: string): Promise<void> {
  process.stdout.write(`removing ${id}\n`);
  await journal.remove(id);
  process.stdout.write(`removed ${id}\n`);
}

/** Removes the lane's closed streams from before `generation` - 2 (the kill cut that short). */
async function removeOld(lane: number, generation: number): Promise<void> {
  for (const stream of streams) {
    const [, laneText, generationText] = stream.id.split('/');
    if (Number(laneText) !== lane || Number(generationText) > generation - 3) continue;
    await remove(stream.id);
  }
}

async function runLane(lane: number): Promise<never> {
  let { generation, length } = resumeLane(lane);
  await removeOld(lane, generation); // what the run before was killed before removing
  for (let call = 0; ; call++) {
    const id = crashStream(lane, generation);
    if (length >= CRASH_STREAM_LENGTH) {
      await journal.close(id, { lane, generation });
      process.stdout.write(`closed ${id}\n`);
      generation++;
      if (generation >= 3) {
        await remove(crashStream(lane, generation - 3)); // two closed ones are kept
      }
      length = 0;
      continue;
    }
    const count = 1 + (call % 3);
    const records = Array.from({ length: count }, (_, index) => crashRecord(id, length + index));
    await journal.append(id, length, records);
    length += count;
    process.stdout.write(`ack ${id} ${length}\n`); // synchronous on a pipe: printed = acknowledged
  }
}

const lanes = Array.from({ length: CRASH_LANES }, (_, lane) => runLane(lane));
process.stdout.write('ready\n');
await Promise.all(lanes);
