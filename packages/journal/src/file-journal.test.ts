import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeJournalConformance } from '@luact/testkit';
import { FileJournal } from './file-journal.js';
import type { FsyncPolicy } from './sync-policy.js';
import { flipByte, frameOffsets } from './testing/journal-files.js';

for (const fsync of ['always', 'batch', 'never'] satisfies FsyncPolicy[]) {
  describeJournalConformance(`FileJournal fsync=${fsync}`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-'));
    const open = () => FileJournal.open({ dir, fsync, syncIntervalMs: 20 });
    return {
      journal: await open(),
      reopen: open,
      damage: async (id) => {
        const [first] = await frameOffsets(dir, id);
        await flipByte(dir, id, (first ?? 0) + 8);
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}

// Many more streams than descriptors: callers wait in line for one, and every append lands.
describeJournalConformance('FileJournal with 4 descriptors', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-journal-'));
  const open = () => FileJournal.open({ dir, fsync: 'never', maxOpenFiles: 4 });
  return {
    journal: await open(),
    reopen: open,
    damage: async (id) => {
      const [first] = await frameOffsets(dir, id);
      await flipByte(dir, id, (first ?? 0) + 8);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
