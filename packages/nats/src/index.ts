export type { NatsConnection } from '@nats-io/transport-node';
export { connectNats, type NatsConnectionSettings } from './connect.js';
export { JetStreamJournal, type JetStreamJournalOptions } from './jetstream-journal.js';
