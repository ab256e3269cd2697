import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeJournalConformance } from '@luact/testkit';
import { FileJournal } from './file-journal.js';
import type { FsyncPolicy } from './sync-policy.js';
import { damageFirstFrame } from './testing/journal-files.js';

for (const fsync of ['always', 'batch', 'never'] satisfies FsyncPolicy[]) {
  describeJournalConformance(`FileJournal fsync=${fsync}`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-'));
    const open = () => FileJournal.open({ dir, fsync, syncIntervalMs: 20 });
    return {
      journal: await open(),
      reopen: open,
      damage: (id) => damageFirstFrame(dir, id),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}

// Segments of a few kilobytes: streams spread over many segments, and reads and a reopen
// gather them back.
describeJournalConformance('FileJournal with 4 KiB log segments', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-'));
  const open = () => FileJournal.open({ dir, fsync: 'always', segmentBytes: 4096 });
  return {
    journal: await open(),
    reopen: open,
    damage: (id) => damageFirstFrame(dir, id),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
