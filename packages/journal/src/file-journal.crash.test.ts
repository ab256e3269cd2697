import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  for (const [round, fsync] of KILLS.entries()) {
    const delayMs = 20 + Math.floor(random() * 400);
    const acks = await runAndKill(fsync, delayMs);
    for (const [id, length] of acks.appended)
      acknowledged.set(id, Math.max(length, acknowledged.get(id) ?? 0));
    for (const id of acks.closed) closed.add(id);

    const journal = await FileJournal.open({ dir, fsync: 'never' });
    try {
      const context = `round ${round} (fsync=${fsync}, killed after ${delayMs} ms)`;
      const streams = new Map((await journal.list()).map((stream) => [stream.id, stream]));
      for (const [id, length] of acknowledged)
        expect(streams.get(id)?.length ?? 0, `${context}, ${id}`).toBeGreaterThanOrEqual(length);
      for (const id of closed)
        expect(streams.get(id)?.closed, `${context}, ${id} closed`).toBe(true);
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
}

/** Runs the crash writer until `delayMs` after it is ready, SIGKILLs it, returns its acks. */
function runAndKill(fsync: FsyncPolicy, delayMs: number): Promise<Acks> {
  const child = spawn(
    process.execPath,
    ['--conditions=luact-source', '--import', 'tsx', WRITER, dir, fsync],
    { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acks: Acks = { appended: new Map(), closed: new Set() };
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash writer never got ready within 60 s:\n${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), delayMs);
        const [word, id, length] = line.split(' ');
        if (word === 'ack' && id) acks.appended.set(id, Number(length));
        if (word === 'closed' && id) acks.closed.add(id);
      }
    });
    child.once('exit', (_code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`crash writer exited by itself (${signal ?? _code}):\n${stderr}`));
    });
  });
}

function sameRecord(read: JournalRecord, written: JournalRecord): boolean {
  return (
    read.stream === written.stream &&
    read.n === written.n &&
    Buffer.from(read.bytes as Uint8Array).equals(written.bytes as Uint8Array)
  );
}

/** mulberry32: a small seeded generator, so a failing run names its kill points. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
