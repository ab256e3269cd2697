import { describeJournalConformance } from '@luact/testkit';
import { MemoryJournal } from './memory-journal.js';

// In memory: nothing survives the object, and nothing can be damaged.
describeJournalConformance(
  'MemoryJournal',
  async () => ({ journal: new MemoryJournal(), cleanup: async () => {} }),
  { durable: false, damageable: false },
);
