import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUntilKilled, seededRandom } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FileJournal } from './file-journal.js';
import type { JournalRecord } from './journal.js';
import type { FsyncPolicy } from './sync-policy.js';
import { crashRecord } from './testing/crash-records.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, 'testing', 'crash-writer.ts');
const KILLS: readonly FsyncPolicy[] = ['batch', 'never', 'always', 'batch', 'never'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-crash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('keeps every acknowledged append and close intact when the writer is SIGKILLed', async () => {
  const random = seededRandom(Date.now());
  const acknowledged = new Map<string, number>();
  const closed = new Set<string>();
  const removed = new Set<string>();
  for (const [round, fsync] of KILLS.entries()) {
    const delayMs = 20 + Math.floor(random() * 400);
    const acks = await runAndKill(fsync, delayMs);
    for (const [id, length] of acks.appended)
      acknowledged.set(id, Math.max(length, acknowledged.get(id) ?? 0));
    for (const id of acks.closed) closed.add(id);
    // A removal under way when the writer was killed may have happened or not.
    for (const id of acks.removing) {
      acknowledged.delete(id);
      closed.delete(id);
    }
    for (const id of acks.removed) removed.add(id);

    const journal = await FileJournal.open({ dir, fsync: 'never' });
    try {
      const context = `round ${round} (fsync=${fsync}, killed after ${delayMs} ms)`;
      const streams = new Map((await journal.list()).map((stream) => [stream.id, stream]));
      for (const [id, length] of acknowledged)
        expect(streams.get(id)?.length ?? 0, `${context}, ${id}`).toBeGreaterThanOrEqual(length);
      for (const id of closed)
        expect(streams.get(id)?.closed, `${context}, ${id} closed`).toBe(true);
      for (const id of removed)
        expect(streams.get(id), `${context}, ${id} removed`).toBeUndefined();
      for (const id of streams.keys()) {
        const records = await journal.read(id);
        const damaged = records.findIndex((record, n) => !sameRecord(record, crashRecord(id, n)));
        expect(damaged, `${context}, ${id}: first record not as written`).toBe(-1);
      }
    } finally {
      await journal.shutdown();
    }
  }
  expect([...acknowledged.values()].some((length) => length > 0)).toBe(true);
  expect(closed.size).toBeGreaterThan(0);
  expect(removed.size).toBeGreaterThan(0);

  // After the last crash the open streams take appends again, after their intact records.
  const journal = await FileJournal.open({ dir, fsync: 'always' });
  try {
    for (const id of await journal.open()) {
      const length = (await journal.read(id)).length;
      await journal.append(id, length, [crashRecord(id, length)]);
      expect(await journal.read(id)).toHaveLength(length + 1);
    }
  } finally {
    await journal.shutdown();
  }
}, 300_000); // five child processes started and killed: slow on a loaded machine

interface Acks {
  /** The longest length acknowledged per stream. */
  readonly appended: Map<string, number>;
  /** Streams whose close was acknowledged. */
  readonly closed: Set<string>;
  /** Streams whose removal was asked for. */
  readonly removing: Set<string>;
  /** Streams whose removal was acknowledged. */
  readonly removed: Set<string>;
}

/** Runs the crash writer until `delayMs` after it is ready, SIGKILLs it, returns its acks. */
async function runAndKill(fsync: FsyncPolicy, delayMs: number): Promise<Acks> {
  const acks: Acks = {
    appended: new Map(),
    closed: new Set(),
    removing: new Set(),
    removed: new Set(),
  };
  await runUntilKilled({
    args: ['--conditions=luact-source', '--import', 'tsx', WRITER, dir, fsync],
    cwd: here,
    killAfterMs: delayMs,
    name: 'crash writer',
    onLine: (line) => {
      const [word, id, length] = line.split(' ');
      if (word === 'ack' && id) acks.appended.set(id, Number(length));
      if (word === 'closed' && id) acks.closed.add(id);
      if (word === 'removing' && id) acks.removing.add(id);
      if (word === 'removed' && id) acks.removed.add(id);
    },
  });
  return acks;
}

function sameRecord(read: JournalRecord, written: JournalRecord): boolean {
  return (
    read.stream === written.stream &&
    read.n === written.n &&
    Buffer.from(read.bytes as Uint8Array).equals(written.bytes as Uint8Array)
  );
}
