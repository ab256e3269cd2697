import { describeJournalConformance } from '@luact/testkit';
import { MemoryJournal } from './memory-journal.js';

describeJournalConformance('MemoryJournal', async () => ({
  journal: new MemoryJournal(),
  cleanup: async () => {},
}));
