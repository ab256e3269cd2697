import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LuactError } from '@luact/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileJournal } from './file-journal.js';
import { segmentFileName } from './log-writer.js';

// /dev/full answers every write with ENOSPC: a segment file linked to it is a full disk.
const describeWithDevFull = existsSync('/dev/full') ? describe : describe.skip;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-full-'));
  await mkdir(path.join(dir, 'log'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) => ({ n: from + index, text: 'z'.repeat(200) }));
}

describeWithDevFull('a full disk', () => {
  it('refuses an append whose new segment cannot be made, loses nothing, and goes on once it can', async () => {
    const journal = await FileJournal.open({ dir, fsync: 'always', segmentBytes: 1024 });
    const full = path.join(dir, 'log', segmentFileName(2));
    await symlink('/dev/full', full);
    let acknowledged = 0;
    let refused: LuactError | undefined;
    while (refused === undefined && acknowledged < 100) {
      try {
        await journal.append('wf', acknowledged, records(1, acknowledged));
        acknowledged++;
      } catch (error) {
        refused = error as LuactError;
      }
    }
    expect(refused?.kind).toBe('UNAVAILABLE');
    expect(refused?.message).toContain(full);
    // The half-made segment is gone (it would read as damage), and the next append lands.
    expect(existsSync(full)).toBe(false);
    await journal.append('wf', acknowledged, records(1, acknowledged));
    expect(await journal.read('wf')).toEqual(records(acknowledged + 1));
    await journal.shutdown();
    const reopened = await FileJournal.open({ dir, fsync: 'always', segmentBytes: 1024 });
    expect(await reopened.read('wf')).toEqual(records(acknowledged + 1));
    expect(await reopened.open()).toEqual(['wf']);
    await reopened.shutdown();
    expect((await readdir(path.join(dir, 'log'))).length).toBeGreaterThan(1);
  });
});
