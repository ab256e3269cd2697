import { readdirSync, readlinkSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrames } from './file-format.js';
import { FileJournal } from './file-journal.js';
import {
  flipByte,
  frameOffsets,
  streamPath,
  streamSize,
  truncateStream,
} from './testing/journal-files.js';

let dir: string;
let journal: FileJournal;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-damage-'));
  journal = await FileJournal.open({ dir, fsync: 'never' });
});

afterEach(async () => {
  await journal.shutdown();
  await rm(dir, { recursive: true, force: true });
});

/** Appends `count` records to `id` and shuts the journal down, as before a crash. */
async function writeAndStop(id: string, count: number): Promise<void> {
  await journal.append(id, 0, records(count));
  await journal.shutdown();
}

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) => ({ n: from + index, text: 'x'.repeat(50) }));
}

async function reopen(): Promise<FileJournal> {
  journal = await FileJournal.open({ dir, fsync: 'never' });
  return journal;
}

describe('a torn final frame (a crash in the middle of an append)', () => {
  it('is dropped when the file ends inside it, and cut off before the next append', async () => {
    await writeAndStop('wf', 3);
    const [, , last] = await frameOffsets(dir, 'wf');
    await truncateStream(dir, 'wf', (last ?? 0) + 20);
    const reopened = await reopen();
    expect(await reopened.read('wf')).toEqual(records(2));
    await reopened.append('wf', 2, records(2, 2));
    expect(await reopened.read('wf')).toEqual(records(4));
    const offsets = await frameOffsets(dir, 'wf');
    expect(offsets).toHaveLength(4);
    expect(offsets[2]).toBe(last); // the new frames replaced the torn one
  });

  it('is dropped when the file ends inside its length and checksum', async () => {
    await writeAndStop('wf', 2);
    const [, second] = await frameOffsets(dir, 'wf');
    await truncateStream(dir, 'wf', (second ?? 0) + 5);
    expect(await (await reopen()).read('wf')).toEqual(records(1));
  });

  it('is dropped when its bytes did not all land (checksum fails)', async () => {
    await writeAndStop('wf', 3);
    await flipByte(dir, 'wf', (await streamSize(dir, 'wf')) - 1);
    const reopened = await reopen();
    expect(await reopened.read('wf')).toEqual(records(2));
    expect(await reopened.list()).toEqual([{ id: 'wf', length: 2, closed: false }]);
    await reopened.append('wf', 2, records(1, 2));
    expect(await reopened.read('wf')).toEqual(records(3));
  });

  it('lets a repeated append store what the crash cut off', async () => {
    await writeAndStop('wf', 3);
    const [, , last] = await frameOffsets(dir, 'wf');
    await truncateStream(dir, 'wf', (last ?? 0) + 3);
    const reopened = await reopen();
    await reopened.append('wf', 0, records(3));
    expect(await reopened.read('wf')).toEqual(records(3));
  });
});

describe('damage before the end of a file', () => {
  it('fails reading with INTERNAL naming the file and the frame offset', async () => {
    await journal.append('damaged', 0, records(3));
    await journal.append('healthy', 0, records(2));
    await journal.shutdown();
    const [, middle] = await frameOffsets(dir, 'damaged');
    await flipByte(dir, 'damaged', (middle ?? 0) + 12);
    const reopened = await reopen();
    const file = streamPath(dir, 'damaged');
    await expect(reopened.read('damaged')).rejects.toMatchObject({
      kind: 'INTERNAL',
      retryable: false,
      message: `${file}: corrupt journal frame at byte ${middle}: checksum mismatch`,
      details: { file, offset: middle },
    });
    await expect(reopened.append('damaged', 3, records(1, 3))).rejects.toMatchObject({
      kind: 'INTERNAL',
    });
    expect(await reopened.read('healthy')).toEqual(records(2));
    await reopened.append('healthy', 2, records(1, 2));
    expect((await reopened.open()).sort()).toEqual(['damaged', 'healthy']);
    expect(await reopened.list()).toContainEqual({ id: 'damaged', length: 1, closed: false });
  });

  it('reports a frame whose checksum holds but whose payload is not a record', async () => {
    await writeAndStop('wf', 1);
    const file = streamPath(dir, 'wf');
    const size = await streamSize(dir, 'wf');
    await writeFile(file, encodeFrames([Uint8Array.of(0xc1, 0xc1)]), { flag: 'a' });
    await expect((await reopen()).read('wf')).rejects.toMatchObject({
      kind: 'INTERNAL',
      details: { file, offset: size },
    });
  });

  it('reports a damaged header', async () => {
    await writeAndStop('wf', 1);
    await flipByte(dir, 'wf', 2);
    await expect((await reopen()).read('wf')).rejects.toMatchObject({
      kind: 'INTERNAL',
      message: expect.stringContaining('bad magic'),
    });
  });

  it('reports a file that holds another stream', async () => {
    await writeAndStop('first', 1);
    await rename(streamPath(dir, 'first'), streamPath(dir, 'second'));
    await expect((await reopen()).read('second')).rejects.toMatchObject({
      kind: 'INTERNAL',
      message: expect.stringContaining('header names stream "first"'),
    });
  });
});

describe('the summaries of closed streams', () => {
  const summaryIndex = () => path.join(dir, 'closed', 'summaries.idx');

  it('lists streams closed before summaries were kept, without one', async () => {
    await journal.append('old', 0, records(1));
    await journal.close('old', { status: 'completed' });
    await journal.shutdown();
    await rm(summaryIndex());
    const reopened = await reopen();
    expect(await reopened.listClosed()).toEqual([{ id: 'old' }]);
    await reopened.append('new', 0, records(1));
    await reopened.close('new', { status: 'failed' });
    expect((await reopened.listClosed()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'new', summary: { status: 'failed' } },
      { id: 'old' },
    ]);
  });

  it('cuts off a summary torn by a crash and keeps the ones before it', async () => {
    await journal.append('a', 0, records(1));
    await journal.append('b', 0, records(1));
    await journal.close('a', { status: 'completed' });
    await journal.shutdown();
    await appendFile(summaryIndex(), encodeFrames([Buffer.from('torn')]).subarray(0, 9));
    const reopened = await reopen();
    expect(await reopened.listClosed()).toEqual([{ id: 'a', summary: { status: 'completed' } }]);
    await reopened.close('b', { status: 'failed' });
    expect((await reopened.listClosed()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'a', summary: { status: 'completed' } },
      { id: 'b', summary: { status: 'failed' } },
    ]);
  });

  it('still closes and lists streams when the summaries are damaged, and loses no record', async () => {
    await journal.append('a', 0, records(1));
    await journal.append('b', 0, records(2));
    await journal.close('a', { status: 'completed' });
    await journal.shutdown();
    await writeFile(summaryIndex(), 'not an index');
    const reopened = await reopen();
    await reopened.close('b', { status: 'failed' });
    expect((await reopened.listClosed()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'a' },
      { id: 'b' },
    ]);
    expect(await reopened.read('b')).toEqual(records(2));
  });
});

describe('the directory', () => {
  it('moves closed streams into closed/ and forgets unfinished creations', async () => {
    await journal.append('done', 0, records(1));
    await journal.close('done');
    await journal.shutdown();
    await writeFile(path.join(dir, 'half-created.jnl.tmp'), 'partial');
    const reopened = await reopen();
    expect(await readdir(dir)).toEqual(['closed']);
    expect((await readdir(path.join(dir, 'closed'))).sort()).toEqual(['done.jnl', 'summaries.idx']);
    expect(await reopened.list()).toEqual([{ id: 'done', length: 1, closed: true }]);
  });

  it('keeps at most maxOpenFiles descriptors open for many streams', async () => {
    await journal.shutdown();
    journal = await FileJournal.open({ dir, fsync: 'batch', syncIntervalMs: 5, maxOpenFiles: 4 });
    const ids = Array.from({ length: 60 }, (_, index) => `wf-${index}`);
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, openDescriptorsUnder(dir));
    }, 1);
    try {
      for (let round = 0; round < 5; round++) {
        await Promise.all(ids.map((id) => journal.append(id, round, records(1, round))));
      }
      await Promise.all(ids.map(async (id) => expect(await journal.read(id)).toEqual(records(5))));
    } finally {
      clearInterval(sampler);
    }
    most = Math.max(most, openDescriptorsUnder(dir));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(4);
  });
});

/** Descriptors of this process open on files under `directory` (Linux). */
function openDescriptorsUnder(directory: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${directory}/`)) count++;
    } catch {
      // closed between listing and reading
    }
  }
  return count;
}
