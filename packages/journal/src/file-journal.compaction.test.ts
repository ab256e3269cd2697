import { copyFile, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileJournal } from './file-journal.js';
import type { FsyncPolicy } from './sync-policy.js';
import { flipByte, logFrames, segmentFiles, truncateTo } from './testing/journal-files.js';
import { SEGMENT_HEADER_BYTES } from './wal-format.js';

/** Small segments, so a few appends fill several. */
const SEGMENT_BYTES = 2048;

let dir: string;
let journal: FileJournal;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-compaction-'));
  journal = await open();
});

afterEach(async () => {
  await journal.shutdown();
  await rm(dir, { recursive: true, force: true });
});

function open(fsync: FsyncPolicy = 'never'): Promise<FileJournal> {
  return FileJournal.open({ dir, fsync, segmentBytes: SEGMENT_BYTES });
}

async function reopen(): Promise<FileJournal> {
  await journal.shutdown();
  journal = await open();
  return journal;
}

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) => ({ n: from + index, text: 'y'.repeat(100) }));
}

/** Appends `count` records to `id` one append at a time. */
async function fill(id: string, count: number, from = 0): Promise<void> {
  for (let n = from; n < from + count; n++) await journal.append(id, n, records(1, n));
}

async function archives(): Promise<string[]> {
  return (await readdir(path.join(dir, 'archive'))).sort();
}

describe('compaction', () => {
  it('moves closed streams out of the log into an archive and deletes their segments', async () => {
    for (const id of ['a', 'b', 'c']) {
      await fill(id, 10);
      await journal.close(id, { status: 'completed', id });
    }
    // All full segments go when asked (the journal also compacts by itself as segments fill,
    // all but the newest full one): the active segment is left.
    await journal.compact();
    expect(await segmentFiles(dir)).toHaveLength(1);
    expect((await archives()).length).toBeGreaterThan(0);
    expect((await archives()).length).toBeGreaterThan(0);
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      for (const id of ['a', 'b', 'c']) expect(await reader.read(id)).toEqual(records(10));
      expect(await reader.open()).toEqual([]);
      expect(await reader.listClosed()).toEqual(
        expect.arrayContaining(
          ['a', 'b', 'c'].map((id) => ({ id, summary: { status: 'completed', id } })),
        ),
      );
      expect(await reader.list()).toHaveLength(3);
    }
  });

  it('copies open streams forward whole, and they go on taking appends', async () => {
    await fill('running', 3);
    for (let n = 0; n < 12; n++) {
      await journal.append(`done-${n}`, 0, records(1));
      await journal.close(`done-${n}`);
    }
    await fill('running', 2, 3); // its records now lie in an old and a newer segment
    expect(await journal.compact()).toBeGreaterThan(0);
    await journal.append('running', 5, records(1, 5));
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await reader.read('running')).toEqual(records(6));
      expect(await reader.open()).toEqual(['running']);
      expect((await reader.listClosed()).length).toBe(12);
    }
    await journal.append('running', 6, records(1, 6));
    expect(await journal.read('running')).toHaveLength(7);
  });

  it('keeps a stream closed that closes while the compaction of its segment runs', async () => {
    await fill('running', 3);
    for (let n = 0; n < 12; n++) {
      await journal.append(`done-${n}`, 0, records(1));
      await journal.close(`done-${n}`);
    }
    // Closed while the compaction archives the closed streams, before it copies 'running'
    // forward. Its summary is larger than a segment: the copy lands in the next segment.
    const compacting = journal.compact();
    await journal.close('running', { status: 'completed', padding: 'z'.repeat(SEGMENT_BYTES) });
    expect(await compacting).toBeGreaterThan(0);
    // The segment that holds the CLOSE frame is compacted too, the copy's is not.
    await journal.compact();
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await reader.open()).toEqual([]);
      expect(await reader.read('running')).toEqual(records(3));
    }
  });

  it('leaves a segment whose open streams would cost more to copy than deleting it frees', async () => {
    await fill('big', 40); // many segments, all of them the one open stream
    const before = await segmentFiles(dir);
    expect(await journal.compact()).toBe(0);
    expect(await segmentFiles(dir)).toEqual(before);
    expect(await journal.read('big')).toEqual(records(40));
  });

  it('keeps a removed archived stream removed, also once the removal itself is compacted', async () => {
    await fill('gone', 20);
    await journal.close('gone');
    await fill('kept', 20);
    await journal.close('kept');
    await journal.compact();
    expect(await logFrames(dir, 'gone')).toEqual([]); // archived
    await journal.remove('gone');
    expect(await (await reopen()).read('gone')).toEqual([]);
    // Fill segments so the one holding the removal is compacted too: the archive keeps it.
    for (let n = 0; n < 30; n++) {
      await journal.append(`later-${n}`, 0, records(1));
      await journal.close(`later-${n}`);
    }
    await journal.compact();
    expect(await logFrames(dir, 'gone')).toEqual([]); // the REMOVE frame left the log
    const reopened = await reopen();
    expect(await reopened.read('gone')).toEqual([]);
    expect((await reopened.list()).map((stream) => stream.id)).not.toContain('gone');
    expect(await reopened.read('kept')).toEqual(records(20));
  });

  it('reuses the ID of a removed archived stream for a new stream', async () => {
    await fill('again', 20);
    await journal.close('again', { round: 1 });
    await fill('other', 20);
    await journal.close('other');
    await journal.compact();
    expect(await logFrames(dir, 'again')).toEqual([]); // archived
    await journal.remove('again');
    await journal.append('again', 0, records(2, 100));
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await reader.read('again')).toEqual(records(2, 100));
      expect(await reader.open()).toEqual(['again']);
    }
  });

  it('loses nothing when a crash came after an archive was written and before the segments went', async () => {
    for (const id of ['x', 'y']) {
      await fill(id, 8);
      await journal.close(id, { id });
    }
    await fill('open', 2);
    const before = await segmentFiles(dir);
    for (const file of before) await copyFile(file, `${file}.saved`);
    expect(await journal.compact()).toBeGreaterThan(0);
    await journal.shutdown();
    // The deletions did not reach the disk: the old segments are back beside the archive.
    for (const file of before) await copyFile(`${file}.saved`, file);
    for (const file of before) await rm(`${file}.saved`);
    journal = await open();
    expect(await journal.read('x')).toEqual(records(8));
    expect(await journal.read('y')).toEqual(records(8));
    expect(await journal.read('open')).toEqual(records(2));
    expect(await journal.listClosed()).toEqual(
      expect.arrayContaining([
        { id: 'x', summary: { id: 'x' } },
        { id: 'y', summary: { id: 'y' } },
      ]),
    );
    expect(await journal.open()).toEqual(['open']);
  });

  it('forgets an archive a crash left unfinished', async () => {
    await fill('a', 3);
    await journal.shutdown();
    await writeFile(path.join(dir, 'archive', '0000000099.wal.tmp'), 'partial');
    journal = await open();
    expect(await archives()).toEqual([]);
    expect(await journal.read('a')).toEqual(records(3));
  });

  it('keeps the log short by itself while streams open and close (fsync=always)', async () => {
    await journal.shutdown();
    journal = await open('always');
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, n) => {
          const id = `run-${round}-${n}`;
          await journal.append(id, 0, records(2));
          await journal.append(id, 2, records(1, 2));
          await journal.close(id, { n });
        }),
      );
    }
    // Compaction runs in the background as segments fill: wait for it to catch up.
    const deadline = Date.now() + 20_000;
    while ((await segmentFiles(dir)).length > 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(3);
    const reopened = await reopen();
    expect((await reopened.listClosed()).length).toBe(200);
    expect(await reopened.read('run-7-13')).toEqual(records(3));
  });

  describe('archives whose streams were all removed (a retention)', () => {
    /** Closes `ids` with 20 records each (more than a segment holds) and compacts them. */
    async function archive(ids: readonly string[]): Promise<void> {
      for (const id of ids) {
        await fill(id, 20);
        await journal.close(id, { id });
      }
      await journal.compact();
    }

    /**
     * Closes `ids` with two records each, all in one segment, and archives them together: a
     * closed padding stream fills the segment (it is archived too, maybe with them).
     */
    async function archiveTogether(ids: readonly string[], pad: string): Promise<void> {
      for (const id of ids) await journal.append(id, 0, records(2));
      for (const id of ids) await journal.close(id, { id });
      await archive([pad]);
    }

    let passing = 0;
    /** Moves the log on past every archive: streams that come and go fill new segments. */
    async function turnOver(): Promise<void> {
      for (let round = 0; round < 2; round++) {
        for (let n = 0; n < 30; n++) {
          const id = `passing-${passing++}`;
          await journal.append(id, 0, records(1));
          await journal.remove(id);
        }
        await journal.compact();
      }
    }

    it('are deleted once their last stream is removed and the log has moved past them', async () => {
      await archive(['a', 'b']);
      expect(await archives()).not.toEqual([]);
      await journal.remove('a');
      await journal.remove('b');
      expect(await journal.list()).toEqual([]);
      // The segment the archive was written from holds frames of b still: not yet.
      expect(await logFrames(dir, 'b')).not.toEqual([]);
      expect(await archives()).not.toEqual([]);
      await turnOver();
      expect(await archives()).toEqual([]);
      const reopened = await reopen();
      expect(await reopened.list()).toEqual([]);
      expect(await reopened.read('b')).toEqual([]);
    });

    it('stay while one of their streams is left', async () => {
      await archiveTogether(['gone', 'kept'], 'pad');
      await journal.remove('gone');
      await journal.remove('pad');
      await turnOver();
      expect(await archives()).not.toEqual([]);
      expect(await (await reopen()).read('kept')).toEqual(records(2));
      expect(await journal.read('gone')).toEqual([]);
      await journal.remove('kept');
      await turnOver();
      expect(await archives()).toEqual([]);
      expect(await (await reopen()).list()).toEqual([]);
    });

    it('outlive a newer archive that holds a removal of theirs', async () => {
      await archiveTogether(['old-gone', 'old-kept'], 'pad');
      await journal.remove('pad');
      const older = await archives();
      await journal.remove('old-gone');
      // The segment holding that removal is compacted: the removal goes to a newer archive.
      await archive(['new']);
      expect(await logFrames(dir, 'old-gone')).toEqual([]);
      await turnOver();
      await journal.remove('new'); // an archive keeps the removal of old-gone: it stays
      expect(await archives()).toEqual(expect.arrayContaining(older));
      expect((await archives()).filter((name) => !older.includes(name))).not.toEqual([]);
      expect(await (await reopen()).read('old-gone')).toEqual([]);
      expect(await journal.read('old-kept')).toEqual(records(2));

      await journal.remove('old-kept'); // now all can go
      await turnOver();
      expect(await archives()).toEqual([]);
      expect(await (await reopen()).list()).toEqual([]);
    });

    it('left by a crash in their deletion are deleted at open', async () => {
      await archive(['a']);
      await turnOver();
      const [archiveFile] = (await archives()).filter((name) => name.endsWith('.wal'));
      if (!archiveFile) throw new Error('no archive');
      const file = path.join(dir, 'archive', archiveFile);
      await copyFile(file, `${dir}/saved.wal`);
      await journal.remove('a');
      expect(await archives()).toEqual([]);
      await journal.shutdown();
      // The crash came between the deletion of the archive's index and of the archive.
      await copyFile(`${dir}/saved.wal`, file);
      journal = await open();
      expect(await journal.read('a')).toEqual([]);
      await expect.poll(() => archives()).toEqual([]);
    });
  });

  describe('the index beside each archive', () => {
    /** Archives three closed streams and returns the archive files and their indexes. */
    async function archived(): Promise<{ archives: string[]; indexes: string[] }> {
      for (const id of ['a', 'b', 'c']) {
        await fill(id, 10);
        await journal.close(id, { id });
      }
      await journal.compact();
      const names = await archives();
      const inArchive = (suffix: string) =>
        names
          .filter((name) => name.endsWith(suffix))
          .map((name) => path.join(dir, 'archive', name));
      return { archives: inArchive('.wal'), indexes: inArchive('.idx') };
    }

    async function expectAllThere(reader: FileJournal): Promise<void> {
      for (const id of ['a', 'b', 'c']) expect(await reader.read(id)).toEqual(records(10));
      expect(await reader.listClosed()).toEqual(
        expect.arrayContaining(['a', 'b', 'c'].map((id) => ({ id, summary: { id } }))),
      );
      expect(await reader.open()).toEqual([]);
    }

    it('is written for every archive and read at open instead of the archive', async () => {
      const { archives: files, indexes } = await archived();
      expect(indexes.map((file) => file.replace(/\.idx$/, '.wal')).sort()).toEqual(files.sort());
      // Only the index is read at open: with the archives' records gone, the streams are still
      // listed, and reading one fails as the damage it is.
      for (const file of files) await truncateTo(file, SEGMENT_HEADER_BYTES);
      const reopened = await reopen();
      expect((await reopened.listClosed()).map((stream) => stream.id).sort()).toEqual([
        'a',
        'b',
        'c',
      ]);
      expect(await reopened.list()).toEqual(
        expect.arrayContaining([{ id: 'a', length: 10, closed: true }]),
      );
      await expect(reopened.read('a')).rejects.toMatchObject({ kind: 'INTERNAL' });
    });

    it('is not needed: without it, or damaged, the archive itself is read', async () => {
      const { indexes } = await archived();
      const [first, ...others] = indexes;
      if (!first) throw new Error('no index');
      await flipByte(first, SEGMENT_HEADER_BYTES + 3);
      for (const file of others) await rm(file);
      await expectAllThere(await reopen());
    });
  });
});

let padding = 0;

/** Closed (or removed) one-record streams until the log has `segments` segment files. */
async function padUntil(segments: number, removing = false): Promise<void> {
  while ((await segmentFiles(dir)).length < segments) {
    const id = `pad-${padding++}`;
    await journal.append(id, 0, records(1));
    if (removing) await journal.remove(id);
    else await journal.close(id);
  }
}

/** What `reader` holds of stream `id`: undefined when it holds none. */
async function stateOf(reader: FileJournal, id: string) {
  return (await reader.list()).find((stream) => stream.id === id);
}

describe('a segment compaction leaves (an open stream costs too much to copy)', () => {
  // 'big' is open and fills segment 1: segment 1 stays. Whatever became of a stream whose
  // records it holds, said in a newer segment, must survive a reopen.

  it('keeps a stream closed whose CLOSE lies in a newer segment', async () => {
    await fill('big', 10);
    await journal.append('x', 0, records(1));
    await padUntil(2);
    await journal.close('x', { done: true });
    await padUntil(3);
    await journal.compact();
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await reader.open()).toEqual(['big']);
    }
  });

  it('keeps a stream removed whose REMOVE lies in a newer segment', async () => {
    await fill('big', 10);
    await journal.append('x', 0, records(1));
    await journal.close('x');
    await padUntil(2);
    await journal.remove('x');
    await padUntil(3);
    await journal.compact();
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await stateOf(reader, 'x')).toBeUndefined();
    }
  });

  /** Closed stream 'x' with a record in segment 1 (which stays) and one in segment 2. */
  async function xAcrossTwoSegments(padsRemoved = false): Promise<void> {
    await fill('big', 10);
    await journal.append('x', 0, records(1));
    await padUntil(2);
    await journal.append('x', 1, records(1, 1));
    await journal.close('x');
    await padUntil(3, padsRemoved);
    await journal.compact();
  }

  it('keeps a stream with records in it and in newer segments removed once it was archived', async () => {
    await xAcrossTwoSegments();
    await journal.remove('x');
    await padUntil((await segmentFiles(dir)).length + 1);
    await journal.compact();
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await stateOf(reader, 'x')).toBeUndefined();
    }
  });

  it('keeps it, and the archives it needs, after a compaction failed (a full disk)', async () => {
    await xAcrossTwoSegments(true);
    await padUntil((await segmentFiles(dir)).length + 1);
    const before = await readdir(path.join(dir, 'archive')).catch(() => []);
    // The next archive cannot be written.
    const names = [...(await readdir(path.join(dir, 'log'))), ...before];
    const next = Math.max(...names.map((name) => Number.parseInt(name, 10))) + 1;
    await symlink(
      '/dev/full',
      path.join(dir, 'archive', `${String(next).padStart(10, '0')}.wal.tmp`),
    );
    await journal.compact().catch(() => 0);
    await journal.remove('x');
    expect((await segmentFiles(dir))[0]).toMatch(/0000000001\.wal$/);
    expect(await readdir(path.join(dir, 'archive'))).toEqual(expect.arrayContaining(before));
    expect(await stateOf(await reopen(), 'x')).toBeUndefined();
  });
});

describe('an ID used again after its stream was removed', () => {
  it('keeps the new stream when it is archived together with the removal of the old one', async () => {
    await fill('again', 20);
    await journal.close('again', { round: 1 });
    await fill('other', 20);
    await journal.close('other');
    await journal.compact();
    await journal.remove('again');
    await journal.append('again', 0, records(2, 100));
    await journal.close('again', { round: 2 });
    await padUntil((await segmentFiles(dir)).length + 1);
    await journal.compact();
    for (const reopening of [false, true]) {
      const reader = reopening ? await reopen() : journal;
      expect(await reader.read('again')).toEqual(records(2, 100));
      expect(await reader.listClosed()).toContainEqual({ id: 'again', summary: { round: 2 } });
    }
  });
});

describe('shutdown', () => {
  it('leaves nothing running: no compaction writes to the directory once it resolved', async () => {
    await journal.shutdown();
    journal = await open('always');
    for (let n = 0; (await segmentFiles(dir)).length < 3; n++) {
      await journal.append(`done-${n}`, 0, records(1));
      await journal.close(`done-${n}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // its own compaction is done
    // Appends in flight at shutdown: the first fills the segment, the second rolls it over,
    // which asks for a compaction after shutdown looked at the compactor.
    const appended = Promise.allSettled([
      journal.append('a', 0, [{ n: 0, text: 'y'.repeat(SEGMENT_BYTES) }]),
      journal.append('b', 0, records(1)),
    ]);
    await journal.shutdown();
    await appended;
    const listing = async () =>
      [
        ...(await readdir(path.join(dir, 'log'))),
        ...(await readdir(path.join(dir, 'archive')).catch(() => [])),
      ].sort();
    const atShutdown = await listing();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await listing()).toEqual(atShutdown);
  });
});
