import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileJournal } from './file-journal.js';
import { segmentFileName } from './log-writer.js';
import {
  fileSize,
  flipByte,
  logFrames,
  segmentFiles,
  truncateTo,
  writeLegacyStream,
  writeLegacySummaries,
} from './testing/journal-files.js';
import { appendFrame, placeFrame } from './wal-format.js';

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

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) => ({ n: from + index, text: 'x'.repeat(50) }));
}

async function reopen(options: { segmentBytes?: number } = {}): Promise<FileJournal> {
  await journal.shutdown();
  journal = await FileJournal.open({ dir, fsync: 'never', ...options });
  return journal;
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<LuactError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof LuactError)) throw new Error(`expected a LuactError, got ${error}`);
  return error;
}

describe('a torn tail (a crash in the middle of a write)', () => {
  it('is dropped when the log ends inside the last frame, and cut off before the next append', async () => {
    await journal.append('wf', 0, records(2));
    await journal.append('wf', 2, records(1, 2));
    const last = (await logFrames(dir, 'wf')).at(-1);
    if (!last) throw new Error('no frame');
    await truncateTo(last.file, last.offset + 20);
    const reopened = await reopen();
    expect(await reopened.read('wf')).toEqual(records(2));
    await reopened.append('wf', 2, records(2, 2));
    expect(await reopened.read('wf')).toEqual(records(4));
    const frames = await logFrames(dir, 'wf');
    expect(frames).toHaveLength(2);
    expect(frames[1]?.offset).toBe(last.offset); // the new frame replaced the torn one
  });

  it("is dropped when the last frame's bytes did not all land (its checksum fails)", async () => {
    await journal.append('wf', 0, records(2));
    await journal.append('wf', 2, records(1, 2));
    const last = (await logFrames(dir, 'wf')).at(-1);
    if (!last) throw new Error('no frame');
    await flipByte(last.file, last.offset + last.size - 3);
    const reopened = await reopen();
    expect(await reopened.read('wf')).toEqual(records(2));
    expect(await reopened.list()).toEqual([{ id: 'wf', length: 2, closed: false }]);
  });

  it('drops the rest of a write torn in its middle, and keeps what earlier writes hold', async () => {
    await journal.append('a', 0, records(1));
    // Appends made together share one write of three frames.
    await Promise.all(
      ['a', 'b', 'c'].map((id) => journal.append(id, id === 'a' ? 1 : 0, records(1, 1))),
    );
    const frames = await logFrames(dir);
    expect(frames.map((frame) => frame.id)).toEqual(['a', 'a', 'b', 'c']);
    const torn = frames[2];
    if (!torn) throw new Error('no frame');
    // The middle frame of the write did not land; the one after it (same write) did.
    await flipByte(torn.file, torn.offset + torn.size - 3);
    const reopened = await reopen();
    expect(await reopened.read('a')).toEqual([records(1)[0], records(1, 1)[0]]);
    expect(await reopened.read('b')).toEqual([]);
    expect(await reopened.read('c')).toEqual([]);
    expect((await reopened.list()).map((stream) => stream.id)).toEqual(['a']);
  });

  it('lets a repeated append store what the crash cut off', async () => {
    await journal.append('wf', 0, records(1));
    await journal.append('wf', 1, records(3, 1));
    const last = (await logFrames(dir, 'wf')).at(-1);
    if (!last) throw new Error('no frame');
    await truncateTo(last.file, last.offset + last.size - 1);
    const reopened = await reopen();
    await reopened.append('wf', 1, records(3, 1));
    expect(await reopened.read('wf')).toEqual(records(4));
  });

  it('forgets a segment whose creation a crash cut short, and starts it again', async () => {
    await journal.append('wf', 0, records(1));
    await journal.shutdown();
    const [only] = await segmentFiles(dir);
    if (!only) throw new Error('no segment');
    await writeFile(path.join(path.dirname(only), segmentFileName(2)), 'LUACT');
    const reopened = await reopen();
    expect(await reopened.read('wf')).toEqual(records(1));
    await reopened.append('wf', 1, records(1, 1));
    expect(await reopened.read('wf')).toEqual(records(2));
  });
});

describe('damage (a bad frame that more writes follow)', () => {
  it('fails reading only its stream, with INTERNAL naming the segment and the frame offset', async () => {
    await journal.append('bad', 0, records(2));
    await journal.append('good', 0, records(2));
    const [frame] = await logFrames(dir, 'bad');
    if (!frame) throw new Error('no frame');
    await flipByte(frame.file, frame.offset + frame.payloadAt + 8);
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      const error = await failure(reader.read('bad'));
      expect(error.kind).toBe('INTERNAL');
      expect(error.message).toBe(
        `${frame.file}: corrupt journal frame at byte ${frame.offset}: checksum mismatch`,
      );
      expect(error.details).toEqual({ file: frame.file, offset: frame.offset });
      expect(await reader.read('good')).toEqual(records(2));
    }
    // A damaged stream takes no appends (they would bury the damage); the others do.
    expect((await failure(journal.append('bad', 2, records(1, 2)))).kind).toBe('INTERNAL');
    await journal.append('good', 2, records(1, 2));
    expect(await journal.read('good')).toEqual(records(3));
    // Listed with the records before the damage: none.
    expect(await journal.list()).toEqual(
      expect.arrayContaining([
        { id: 'bad', length: 0, closed: false },
        { id: 'good', length: 3, closed: false },
      ]),
    );
  });

  it('is told from a torn tail by a later write, even inside a write that other frames share', async () => {
    await Promise.all([
      journal.append('bad', 0, records(1)),
      journal.append('good', 0, records(1)),
    ]);
    await journal.append('good', 1, records(1, 1)); // a later write
    const [frame] = await logFrames(dir, 'bad');
    if (!frame) throw new Error('no frame');
    await flipByte(frame.file, frame.offset + frame.payloadAt + 8);
    const reopened = await reopen();
    expect((await failure(reopened.read('bad'))).message).toBe(
      `${frame.file}: corrupt journal frame at byte ${frame.offset}: checksum mismatch`,
    );
    expect(await reopened.read('good')).toEqual(records(2));
  });

  it('is found in an earlier segment too', async () => {
    await reopen({ segmentBytes: 256 });
    for (let n = 0; n < 6; n++) {
      await journal.append('bad', n, records(1, n));
      await journal.append('good', n, records(1, n));
    }
    expect((await segmentFiles(dir)).length).toBeGreaterThan(3);
    const [frame] = await logFrames(dir, 'bad');
    if (!frame) throw new Error('no frame');
    await flipByte(frame.file, frame.offset + frame.payloadAt + 8);
    const reopened = await reopen({ segmentBytes: 256 });
    expect((await failure(reopened.read('bad'))).message).toContain(
      `${frame.file}: corrupt journal frame at byte ${frame.offset}`,
    );
    expect(await reopened.read('good')).toEqual(records(6));
  });

  it('opens a log whose earlier segment ends in a few stray bytes, reporting them as damage', async () => {
    await reopen({ segmentBytes: 256 });
    for (let n = 0; n < 4; n++) await journal.append('wf', n, records(1, n));
    const [first] = await segmentFiles(dir);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(1);
    if (!first) throw new Error('no segment');
    await journal.shutdown();
    const end = await fileSize(first);
    await appendFile(first, Buffer.from([1, 2, 3, 4, 5]));
    const reopened = await reopen({ segmentBytes: 256 });
    expect((await failure(reopened.read('wf'))).message).toBe(
      `${first}: corrupt journal frame at byte ${end}: frame header checksum mismatch`,
    );
  });

  it('damages every stream open at a frame whose header is unreadable, not the ones closed or begun after', async () => {
    await journal.append('open', 0, records(1));
    await journal.append('finished', 0, records(1));
    await journal.close('finished', { status: 'completed' });
    await journal.append('lost', 0, records(1));
    await journal.append('later', 0, records(1));
    const lost = (await logFrames(dir, 'lost'))[0];
    if (!lost) throw new Error('no frame');
    await flipByte(lost.file, lost.offset + 10); // the ID length: the frame names no stream now
    const reopened = await reopen();
    const error = await failure(reopened.read('open'));
    expect(error.message).toBe(
      `${lost.file}: corrupt journal frame at byte ${lost.offset}: frame header checksum mismatch`,
    );
    expect(await reopened.read('finished')).toEqual(records(1));
    expect(await reopened.listClosed()).toEqual([
      { id: 'finished', summary: { status: 'completed' } },
    ]);
    expect(await reopened.read('later')).toEqual(records(1));
    expect(await reopened.read('lost')).toEqual([]);
  });

  it('reports a frame whose checksums hold but whose payload is not a record', async () => {
    await journal.append('wf', 0, records(1));
    await journal.append('other', 0, records(1));
    await journal.shutdown();
    const [segment] = await segmentFiles(dir);
    if (!segment) throw new Error('no segment');
    const at = await fileSize(segment);
    const frame = appendFrame('wf', 1, [Buffer.from([0x92, 0x01, 0x02])]); // an array, not a record
    placeFrame(frame, at);
    await appendFile(segment, frame.bytes);
    const reopened = await reopen();
    const error = await failure(reopened.read('wf'));
    expect(error.kind).toBe('INTERNAL');
    expect(error.message).toBe(
      `${segment}: corrupt journal frame at byte ${at}: payload is not a record but an array`,
    );
    expect(await reopened.read('other')).toEqual(records(1));
  });

  it('marks a stream damaged when frames before one of its appends are missing', async () => {
    await journal.append('wf', 0, records(1));
    await journal.shutdown();
    const [segment] = await segmentFiles(dir);
    if (!segment) throw new Error('no segment');
    const at = await fileSize(segment);
    const frame = appendFrame(
      'wf',
      5,
      records(1, 5).map((record) => Buffer.from(JSON.stringify(record))),
    );
    placeFrame(frame, at);
    await appendFile(segment, frame.bytes);
    const reopened = await reopen();
    expect((await failure(reopened.read('wf'))).message).toBe(
      `${segment}: corrupt journal frame at byte ${at}: records 1 to 4 of the stream are missing`,
    );
  });

  it('reads a log whose first segment header is damaged as damage, not as an empty journal', async () => {
    await journal.append('wf', 0, records(1));
    await journal.append('wf', 1, records(1, 1));
    await journal.shutdown();
    const [segment] = await segmentFiles(dir);
    if (!segment) throw new Error('no segment');
    await flipByte(segment, 2);
    const reopened = await reopen();
    // The frames are still found; what the header covered cannot be vouched for.
    expect((await reopened.list()).map((stream) => stream.id)).toEqual(['wf']);
  });
});

describe('journals of the format before the log', () => {
  it('are moved into the log, closed streams with their summaries, and their files removed', async () => {
    await journal.shutdown();
    await writeLegacyStream(dir, 'orders/1', records(3));
    await writeLegacyStream(dir, 'orders/2', records(2), true);
    await writeLegacyStream(dir, 'orders/3', records(1), true);
    await writeLegacySummaries(dir, [{ id: 'orders/2', summary: { status: 'completed' } }]);
    const reopened = await reopen();
    expect(await reopened.read('orders/1')).toEqual(records(3));
    expect(await reopened.read('orders/2')).toEqual(records(2));
    expect(await reopened.open()).toEqual(['orders/1']);
    expect(await reopened.listClosed()).toEqual(
      expect.arrayContaining([
        { id: 'orders/2', summary: { status: 'completed' } },
        { id: 'orders/3' },
      ]),
    );
    expect((await readdir(dir)).sort()).toEqual(['archive', 'log']);
    // And they stay there.
    const again = await reopen();
    expect(await again.list()).toEqual(
      expect.arrayContaining([
        { id: 'orders/1', length: 3, closed: false },
        { id: 'orders/2', length: 2, closed: true },
        { id: 'orders/3', length: 1, closed: true },
      ]),
    );
  });

  it('leave a damaged file where it is, reading its stream as damaged', async () => {
    await journal.shutdown();
    const file = await writeLegacyStream(dir, 'broken', records(3));
    await writeLegacyStream(dir, 'fine', records(1));
    const size = await fileSize(file);
    await flipByte(file, size - 80); // inside the second frame: more frames follow
    const reopened = await reopen();
    const error = await failure(reopened.read('broken'));
    expect(error.kind).toBe('INTERNAL');
    expect(error.message).toContain(`${file}: corrupt journal frame at byte`);
    expect(await reopened.read('fine')).toEqual(records(1));
    expect((await readdir(dir)).sort()).toEqual(['archive', 'broken.jnl', 'log']);
  });
});

describe('group commit', () => {
  it('covers appends made together with one fdatasync (fsync=always)', async () => {
    await journal.shutdown();
    journal = await FileJournal.open({ dir, fsync: 'always' });
    const before = journal.syncs;
    const ids = Array.from({ length: 100 }, (_, n) => `wf-${n}`);
    await Promise.all(ids.map((id) => journal.append(id, 0, records(1))));
    // The first append is synced alone; the other 99 gather meanwhile and share the next sync.
    expect(journal.syncs - before).toBeLessThanOrEqual(3);
    const reopened = await reopen();
    expect((await reopened.list()).filter((stream) => stream.length === 1)).toHaveLength(100);
  });
});
