export { checkId, closedError, lengthConflict } from './errors.js';
export type { Journal, JournalRecord, StreamInfo } from './journal.js';
export { MemoryJournal } from './memory-journal.js';
