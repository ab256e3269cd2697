export { checkId, closedError, lengthConflict } from './errors.js';
export { FileJournal, type FileJournalOptions } from './file-journal.js';
export type { ClosedStream, Journal, JournalRecord, StreamInfo } from './journal.js';
export { KeyedLock } from './keyed-lock.js';
export { MemoryJournal } from './memory-journal.js';
export { decodeRecord, encodeRecord } from './record-codec.js';
export { countStoredAlready } from './repeat.js';
export type { FsyncPolicy } from './sync-policy.js';
