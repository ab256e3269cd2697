export { JetStreamJournal, type JetStreamJournalOptions } from './jetstream-journal.js';
